"""`vitrieve calibrate`: the near-duplicate threshold measured on the user's own photos.

The fixed 0.90 was chosen on a randomly initialised ViT; a real model's cosine scale is
unknown until measured (unrelated photos may all sit above 0.9, or edited copies below it). So
the library measures it where it runs:

1. sample up to VITRIEVE_CALIBRATION_IMAGES embedded photos of the current model (seeded);
2. make in memory the edits users call duplicates (search/duplicates/edits.py: JPEG q30, 1/2
   and 1/4 downscale, 5-15% crop, a small rotation, brightness/contrast, letterbox bars),
   decode each through the decode + resize ingest uses and embed it with ``lib.embedder``;
3. positives: the cosine of each photo's stored vector to each of its edits, per edit kind;
   negatives: each photo's nearest unrelated neighbour in the index
   (search/duplicates/neighbours.py says what is excluded and why);
4. per strictness, the lowest threshold that at most the target share of negatives reaches
   (search/duplicates/curve.py), and the whole curve, stored as one row per model.

Default sample: 200 photos x 7 edits = 1,400 embeddings, about 3 minutes of ViT-B/16 on a
2-core CPU with the auto runtime, 6 with torch fp32 (docs/BENCHMARKS.md, "Calibration cost";
seconds on a GPU); 200 is also the
fewest embedded photos it accepts, so a small catalog is sampled whole. Memory is bounded by one
chunk of photos and their edits at a time. Nothing is written but the catalog row: the edits
never leave memory. The row is inserted in one transaction, so kill -9 at any moment leaves the
previous calibration or the new one. Same catalog, same seed: the same numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from sqlalchemy import select

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.catalog import searchable_ids
from vitrieve.indexer.decode import DecodeError, decode_image
from vitrieve.indexer.library import Library
from vitrieve.indexer.reader import ReadError, read_file
from vitrieve.search.duplicates.curve import (
    STRICTNESS,
    Calibration,
    build_curve,
    strictness_targets,
    threshold_for,
)
from vitrieve.search.duplicates.edits import KINDS, edited_copies
from vitrieve.search.duplicates.neighbours import nearest_unrelated
from vitrieve.search.duplicates.vectors import load_vectors
from vitrieve.tables.calibrations import DupCalibration
from vitrieve.tables.catalog import Image, Root

log = logging.getLogger(__name__)

MIN_IMAGES = 200
CHUNK = 8  # photos decoded, edited and embedded together (7 edits each)
ProgressFn = Callable[[str, int, int], None]


class CalibrationRefused(VitrieveError):
    """The catalog cannot be calibrated (too few embedded photos, none readable)."""


def calibrate(
    lib: Library,
    *,
    images: int | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> Calibration:
    """Measure, choose and store the current model's thresholds; returns what was stored."""
    wanted = lib.settings.calibration_images if images is None else images
    model = lib.model_row
    with lib.sessions() as session:
        ids = searchable_ids(session, model.id)
    if len(ids) < MIN_IMAGES:
        raise CalibrationRefused(
            f"calibration needs at least {MIN_IMAGES} embedded images of the current model, "
            f"the catalog has {len(ids)}: ingest more photos first"
        )
    order = np.random.default_rng(seed).permutation(ids)
    edit_rng = np.random.default_rng([seed, 1])
    sampled: list[int] = []
    positives: dict[str, list[float]] = {k: [] for k in KINDS}
    weakest: list[float] = []  # per photo, its least similar edit
    for start in range(0, len(order), CHUNK):
        if len(sampled) >= wanted:
            break
        chunk = [int(i) for i in order[start : start + CHUNK]][: wanted - len(sampled)]
        got = _measure_chunk(lib, chunk, edit_rng)
        for image_id, sims in got:
            sampled.append(image_id)
            for kind, s in zip(KINDS, sims, strict=True):
                positives[kind].append(s)
            weakest.append(float(np.min(sims)))
        if progress:
            progress("embedding edits", len(sampled), min(wanted, len(ids)))
    if not sampled:
        raise CalibrationRefused("calibration found no readable photo among the sampled ones")
    own = load_vectors(lib.sessions, model.id, model.dim, only_ids=sampled)
    vectors = own.unit(own.rows_of(np.asarray(sampled, np.int64)))
    negatives = nearest_unrelated(lib, np.asarray(sampled, np.int64), vectors, np.array(weakest))
    if not negatives.sims:
        raise CalibrationRefused("calibration found no unrelated neighbour for any sampled photo")
    neg = np.asarray(negatives.sims, np.float64)
    bars = np.asarray(negatives.bars, np.float64)
    pos = {k: np.asarray(v, np.float64) for k, v in positives.items()}
    targets = strictness_targets(lib.settings.calibration_false_rate)
    thresholds = {s: threshold_for(neg, targets[s], bars) for s in STRICTNESS}
    result = Calibration(
        model_id=model.id,
        thresholds=thresholds,
        targets=targets,
        sample_size=len(sampled),
        seed=seed,
        negatives=len(neg),
        excluded=negatives.excluded,
        curve=build_curve(pos, neg, list(thresholds.values()), bars),
    )
    return store_calibration(lib, result)


def _measure_chunk(
    lib: Library, chunk: list[int], rng: np.random.Generator
) -> list[tuple[int, list[float]]]:
    """(image id, cosine to each edit in KINDS order) for the photos of ``chunk`` that read."""
    embedder = lib.embedder
    spec = embedder.spec
    with lib.sessions() as session:
        rows = session.execute(
            select(Image.id, Root.path, Image.rel_path).join(Root).where(Image.id.in_(chunk))
        ).all()
    where = {r[0]: Path(r[1]) / r[2] for r in rows}
    done: list[int] = []
    pixels: list[np.ndarray] = []
    for image_id in chunk:
        path = where.get(image_id)
        if path is None:
            continue
        try:  # twice the model's side at least, so the 1/4 downscale still has pixels to lose
            data = read_file(path, max_size=lib.settings.max_file_size)
            original = decode_image(
                data,
                target_size=2 * spec.target_size,
                source=str(path),
                max_pixels=lib.settings.max_image_pixels,
            ).image
            edits = [
                decode_image(
                    blob,
                    target_size=spec.target_size,
                    source=f"{path} ({kind})",
                    max_pixels=lib.settings.max_image_pixels,
                ).image
                for kind, blob in edited_copies(original, rng)
            ]
        except (ReadError, DecodeError) as exc:
            log.warning("calibration skips %s: %s", path, exc)
            continue
        done.append(image_id)
        pixels += [spec.resize(im) for im in edits]
    if not done:
        return []
    embedded = embedder.embed_pixels(np.stack(pixels)).reshape(len(done), len(KINDS), -1)
    own = load_vectors(lib.sessions, lib.model_row.id, lib.model_row.dim, only_ids=done)
    originals = own.unit(own.rows_of(np.asarray(done, np.int64)))
    sims = np.einsum("nd,nkd->nk", originals, embedded)
    return [(i, [float(s) for s in row]) for i, row in zip(done, sims, strict=True)]


def store_calibration(lib: Library, result: Calibration) -> Calibration:
    """One INSERT in one transaction: the previous row stays in force until it commits (the
    newest row of the model is the one in force)."""
    with lib.sessions() as session, session.begin():
        row = DupCalibration(
            model_id=result.model_id,
            threshold=result.threshold,
            thresholds=result.thresholds,
            targets=result.targets,
            sample_size=result.sample_size,
            seed=result.seed,
            negatives=result.negatives,
            excluded=result.excluded,
            curve=result.curve,
        )
        session.add(row)
        session.flush()
        created = row.created_at
    # Debug only: the caller says it once (`vitrieve calibrate` prints it, the worker task logs it).
    log.debug("calibrated: %s", result.describe())
    return replace(result, created_at=created)

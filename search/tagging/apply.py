"""Scoring images with probes: the whole collection in streamed batches, or each batch of
freshly embedded images during ingest (the `on_embedded` hook).

What is stored per image and probe: every label whose calibrated score is at least
STORE_FLOOR, and for single-label probes the top label always. A single-label probe's scores
sum to 1, so that is at most 1 / STORE_FLOOR = 20 rows per image, usually one or two; the tag
table stays proportional to the collection while filters can still pick any threshold above
the floor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from vitrieve.indexer.catalog import iter_vectors
from vitrieve.indexer.library import Library
from vitrieve.search.tagging.store import LinearProbe, check_model, latest_probe, probe_ids
from vitrieve.tables.catalog import utcnow
from vitrieve.tables.tagging import Probe, Tag, TagSource

if TYPE_CHECKING:
    from vitrieve.indexer.ingest import EmbeddedHook
    from vitrieve.indexer.writer import BatchOutcome

STORE_FLOOR = 0.05
DEFAULT_BATCH = 20_000  # vectors per transaction: ~60 MB of float32 at 768-d, then released
_CHUNK = 500


@dataclass
class ApplySummary:
    name: str
    version: int
    images: int
    tags: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def tag_rows(probe: LinearProbe, ids: np.ndarray, vectors: np.ndarray) -> list[dict]:
    """Tag rows (for a bulk insert) of the labels worth keeping for each image."""
    scores = probe.scores(vectors)
    keep = scores >= STORE_FLOOR
    if not probe.multilabel and len(scores):
        keep[np.arange(len(scores)), scores.argmax(axis=1)] = True
    rows, cols = np.nonzero(keep)
    now = utcnow()
    image_ids = np.asarray(ids)[rows].tolist()
    labels = [probe.classes[c] for c in cols.tolist()]
    return [
        {
            "image_id": i,
            "label": label,
            "source": TagSource.PROBE,
            "score": s,
            "probe_id": probe.id,
            "probe_version": probe.version,
            "updated_at": now,
        }
        for i, label, s in zip(image_ids, labels, scores[rows, cols].tolist(), strict=True)
    ]


def _probe_tags(probe: LinearProbe, owned: Sequence[int]):
    """This probe's tags: any version of its name, or any probe tag of a label it now owns."""
    return (Tag.source == TagSource.PROBE) & or_(
        Tag.probe_id.in_(list(owned)), Tag.label.in_(probe.classes)
    )


def apply_probe(
    lib: Library,
    name: str,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], object] | None = None,
) -> ApplySummary:
    """Tags every searchable image with NAME's newest version, replacing its earlier tags.

    Streams the vectors by keyset pagination and commits per batch, so memory stays bounded
    at any collection size; each batch replaces the probe's tags in its id range, and a last
    step drops older versions' tags after it, so re-applying leaves no stale rows for
    searchable images. Manual tags are never touched.
    (The plain function a Celery task calls when a broker is configured.)
    """
    started = time.perf_counter()
    model = lib.model_row
    with lib.sessions() as session:
        row = latest_probe(session, name)
        check_model(session, row, model)
        probe = LinearProbe.from_row(row)
        owned = probe_ids(session, name)
    images = tags = 0
    last = 0
    for ids, vectors in iter_vectors(lib.sessions, model.id, model.dim, chunk=batch_size):
        rows = tag_rows(probe, ids, vectors)
        with lib.sessions.begin() as session:
            session.execute(
                delete(Tag).where(
                    _probe_tags(probe, owned), Tag.image_id > last, Tag.image_id <= int(ids[-1])
                )
            )
            if rows:
                session.execute(Tag.__table__.insert(), rows)
        last = int(ids[-1])
        images += len(ids)
        tags += len(rows)
        if progress is not None:
            progress(images)
    with lib.sessions.begin() as session:
        # Beyond the last vector: only older versions' rows. This version's rows there come
        # from an ingest running meanwhile (its auto-tagging hook) and are current.
        session.execute(
            delete(Tag).where(
                _probe_tags(probe, owned), Tag.image_id > last, Tag.probe_id != probe.id
            )
        )
    return ApplySummary(
        probe.name, probe.version, images, tags, round(time.perf_counter() - started, 3)
    )


def tag_new_images(session: Session, outcome: BatchOutcome, *, model_id: int) -> int:
    """Tags one freshly embedded batch with every active probe of `model_id`, in the batch's
    own transaction (so tags commit with the vectors). Probes of other models are skipped:
    they cannot score these vectors. Returns the number of tag rows written."""
    written = 0
    ids = [int(i) for i in outcome.embedded_ids]
    active = session.scalars(
        select(Probe).where(Probe.active.is_(True), Probe.model_id == model_id)
    ).all()
    for row in active:
        probe = LinearProbe.from_row(row)
        owned = probe_ids(session, row.name)
        for i in range(0, len(ids), _CHUNK):
            session.execute(
                delete(Tag).where(_probe_tags(probe, owned), Tag.image_id.in_(ids[i : i + _CHUNK]))
            )
        rows = tag_rows(probe, outcome.embedded_ids, outcome.vectors)
        if rows:
            session.execute(Tag.__table__.insert(), rows)
        written += len(rows)
    return written


def auto_tagger(lib: Library) -> EmbeddedHook:
    """The `on_embedded` hook for ingest: `ingest(lib, paths, on_embedded=auto_tagger(lib))`.

    A factory because a BatchOutcome does not say which model made its vectors."""
    return partial(tag_new_images, model_id=lib.model_row.id)

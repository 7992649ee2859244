"""The calibrated threshold on a shifted similarity scale, against the fixed 0.90.

Two families of stand-in models (tests/support/calibration.py), each with a "squashed" variant
(its output dominated by one constant direction: unrelated photos above 0.95, the fixed 0.90
groups nearly everything) and a "spread" one (near-duplicates below 0.90):

- the thumbnail ViT (tests/support/thumbnail_vit.py): weights set so that the pooler output is
  the mean-centred 7x7 colour thumbnail, a model that *can* tell copies from unrelated photos,
  as the real in21k ViT can. On it the issue's floor is asserted: precision and recall of
  same-photo pairs each >= 0.9 with the calibrated threshold, on every scale.
- the random tiny ViT: no threshold reaches that floor on it, not even one chosen with the
  truth (best min(precision, recall) 0.87: a random ViT mostly sees a photo's mean colour, and
  three tiles of one photo share it). What must hold there too, and is asserted: the calibrated
  threshold never groups unrelated photos (precision >= 0.9) and still finds duplicates.

Each model ingests the same make_dup_set-style set (21 photos x 10 files, real photos),
calibrates on it with the real pipeline (`calibrate`, seed 0), and the threshold in force is
judged on that set's truth. Seeds 0-4 all meet the floor on the thumbnail family (seed 0 is
the loosest: precision 0.905-0.919, recall 1.0; docs/DUPLICATES.md has the table).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as Picture
from sqlalchemy import select

from tests.support import (
    build_thumbnail_vit,
    pair_scores,
    stand_in,
    thumbnail_reference,
    write_dup_set,
)
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.calibrate import calibrate
from vitrieve.search.duplicates.find import DEFAULT_THRESHOLD
from vitrieve.search.duplicates.threshold import threshold_in_force
from vitrieve.search.duplicates.vectors import load_vectors
from vitrieve.tables.catalog import Image

RANDOM = ("tiny", "squashed", "spread")
CAPABLE = ("thumb", "thumb-squashed", "thumb-spread")
_MEASURED: dict[str, tuple] = {}


@pytest.fixture(scope="module", params=RANDOM + CAPABLE)
def measured(request, tmp_path_factory):
    return _measure(request.param, tmp_path_factory)


@pytest.fixture(scope="module", params=CAPABLE)
def capable(request, tmp_path_factory):
    return _measure(request.param, tmp_path_factory)


def _measure(kind, tmp_path_factory):
    """Ingest the set with this stand-in, calibrate (seed 0), score the thresholds on the
    truth; once per model for every test of the module."""
    if kind in _MEASURED:
        return _MEASURED[kind]
    base = tmp_path_factory.mktemp(f"calib-{kind}")
    truth = write_dup_set(base / "dupset")
    settings = Settings(
        home=base / "home",
        model=str(stand_in(kind, base / "model")),
        precision="fp32",
        runtime="torch",
        batch_size=32,
        decode_workers=2,
    )
    with Library(settings) as lib:
        ingest(lib, [base / "dupset"])
        result = calibrate(lib, seed=0)
        threshold, why = threshold_in_force(lib)
        model = lib.model_row
        found = load_vectors(lib.sessions, model.id, model.dim)
        with lib.sessions() as session:
            paths = dict(session.execute(select(Image.id, Image.rel_path)).all())
    vectors = {
        paths[int(i)]: found.unit(found.rows_of(np.asarray([i])))[0] for i in found.ids.tolist()
    }
    scores = {
        "calibrated": pair_scores(vectors, truth, threshold),
        "loose": pair_scores(vectors, truth, result.thresholds["loose"]),
        "fixed": pair_scores(vectors, truth, DEFAULT_THRESHOLD),
    }
    print(f"\n{kind}: {why}\n  thresholds {result.thresholds}, excluded {result.excluded}")
    for name, (p, r) in scores.items():
        print(f"  {name}: precision {p:.3f} recall {r:.3f}")
    _MEASURED[kind] = kind, result, threshold, scores
    return _MEASURED[kind]


def test_the_balanced_threshold_is_the_one_in_force(measured):
    _, result, threshold, _ = measured
    assert threshold == result.thresholds["balanced"]
    assert result.thresholds["strict"] >= threshold >= result.thresholds["loose"]


def test_the_calibrated_threshold_never_groups_unrelated_photos(measured):
    kind, _, _, scores = measured
    precision, recall = scores["calibrated"]
    assert precision >= 0.9, (kind, scores)
    assert recall > 0.5, (kind, scores)  # it still finds duplicates, not nothing


@pytest.mark.parametrize("kind", ["squashed", "thumb-squashed"])
def test_the_fixed_090_groups_unrelated_photos_on_a_squashed_model(kind, tmp_path_factory):
    _, _, threshold, scores = _measure(kind, tmp_path_factory)
    assert scores["fixed"][0] < 0.1, scores
    assert threshold > 0.99


def test_the_fixed_090_misses_near_duplicates_on_the_spread_model(tmp_path_factory):
    _, _, _, scores = _measure("thumb-spread", tmp_path_factory)
    assert scores["fixed"][1] < 0.9, scores  # recall: the fixed value fails the floor


def test_the_issues_floor_precision_and_recall_at_least_09(capable):
    kind, _, _, scores = capable
    precision, recall = scores["calibrated"]
    assert precision >= 0.9 and recall >= 0.9, (kind, scores)


def test_the_thumbnail_stand_in_computes_its_descriptor(tmp_path):
    """Its weights are set by hand: the cosines of its pooler outputs on real photos and their
    copies follow the numpy thumbnail's (tanh bends them a little, the order holds)."""
    import torch
    from transformers import ViTImageProcessorPil, ViTModel

    truth = write_dup_set(tmp_path / "set")
    names = sorted(truth)[::4]
    out = build_thumbnail_vit(tmp_path / "model")
    model = ViTModel.from_pretrained(out).eval()
    pixels = ViTImageProcessorPil.from_pretrained(out)(
        images=[Picture.open(tmp_path / "set" / n).convert("RGB") for n in names],
        return_tensors="pt",
    )["pixel_values"]
    with torch.no_grad():
        got = model(pixel_values=pixels).pooler_output.numpy()
    want = np.stack([thumbnail_reference(p.permute(1, 2, 0).numpy()) for p in pixels])
    got /= np.linalg.norm(got, axis=1, keepdims=True)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    upper = np.triu_indices(len(names), 1)
    a, b = (got @ got.T)[upper], (want @ want.T)[upper]
    assert np.abs(a - b).max() < 0.1
    assert np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1] > 0.99

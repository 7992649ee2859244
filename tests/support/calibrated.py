"""Calibrations built from chosen similarities, with the calibration's own curve code: what the
views and the match words read, without a model or a catalog."""

from __future__ import annotations

import numpy as np

from vitrieve.search.duplicates.curve import (
    STRICTNESS,
    Calibration,
    build_curve,
    strictness_targets,
    threshold_for,
)
from vitrieve.search.duplicates.edits import KINDS


def synthetic_calibration(
    positives: dict[str, tuple[float, float]], negatives: tuple[float, float], n: int = 200
) -> Calibration:
    """``n`` similarities per edit kind spread evenly over its (low, high) (kinds not named
    use the first one's), and ``n`` nearest unrelated neighbours over ``negatives``."""
    first = next(iter(positives.values()))
    pos = {k: np.linspace(*positives.get(k, first), n) for k in KINDS}
    neg = np.linspace(*negatives, n)
    targets = strictness_targets(0.01)
    thresholds = {s: threshold_for(neg, targets[s]) for s in STRICTNESS}
    return Calibration(
        model_id=1,
        thresholds=thresholds,
        targets=targets,
        sample_size=n,
        seed=0,
        negatives=n,
        excluded={},
        curve=build_curve(pos, neg, list(thresholds.values())),
    )

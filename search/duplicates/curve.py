"""From measured similarities to thresholds: the curve a calibration stores and reads back.

Positives are original-to-edit cosines per edit kind; negatives are each sampled photo's
nearest unrelated catalog neighbour (search/duplicates/calibrate.py). For a target false rate r
the threshold is the lowest cosine that at most r of the negatives reach: every positive above it
is caught, and lowering it further would group more unrelated photos than the target allows.
Pure numpy, no catalog: the same numbers in give the same thresholds out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from vitrieve.search.duplicates.edits import FAMILY

STRICTNESS = ("strict", "balanced", "loose")
CURVE_POINTS = 200


def strictness_targets(balanced: float) -> dict[str, float]:
    """strict allows a tenth of the balanced false rate, loose five times it (capped)."""
    return {"strict": balanced / 10, "balanced": balanced, "loose": min(0.5, balanced * 5)}


def false_rate(negatives: np.ndarray, bars: np.ndarray | None, t: float) -> float:
    """The share of unrelated nearest neighbours at or above ``t``, among the photos whose
    neighbour *could* have been seen there.

    A photo's negative is the first neighbour below its bar (its weakest in-memory edit,
    search/duplicates/neighbours.py): anything above the bar was taken for a copy. So a photo
    whose bar is below ``t`` says nothing about ``t`` (its neighbours up there were excused as
    edit-like, unrelated or not), and counting it would only dilute the rate with negatives
    that could not be high. Without bars every photo counts (the plain fraction).
    """
    neg = np.asarray(negatives, np.float64)
    at_risk = len(neg) if bars is None else int(np.sum(np.asarray(bars, np.float64) > t))
    return float(np.sum(neg >= t)) / at_risk if at_risk else 0.0


def threshold_for(negatives: np.ndarray, rate: float, bars: np.ndarray | None = None) -> float:
    """The lowest cosine (rounded up to 4 decimals) above which at most ``rate`` of the
    negatives lie, at every cosine from there up (``bars``: see `false_rate`)."""
    if not len(negatives):
        raise ValueError("no negatives to calibrate on")
    neg = np.asarray(negatives, np.float64)
    ordered = np.sort(neg)[::-1]
    bar = np.sort(np.asarray(bars, np.float64) if bars is not None else np.full(len(neg), 2.0))
    for j, t in enumerate(ordered):  # walk down; stop at the first negative that must stay out
        at_risk = len(bar) - int(np.searchsorted(bar, t, side="right"))  # bars above t
        if j + 1 > math.floor(rate * at_risk + 1e-9):
            return min(1.0, math.ceil(float(t) * 1e4 + 1e-6) / 1e4)
    return 0.0


def rates_at(
    t: float, positives: dict[str, np.ndarray], negatives: np.ndarray, bars=None
) -> tuple[dict[str, float], float]:
    recall = {k: float(np.mean(v >= t)) if len(v) else 0.0 for k, v in positives.items()}
    return recall, false_rate(negatives, bars, t)


def build_curve(
    positives: dict[str, np.ndarray],
    negatives: np.ndarray,
    extra: list[float],
    bars: np.ndarray | None = None,
):
    """{"threshold": [...], "false_rate": [...], "recall": {kind: [...]}} over the measured
    range, with the chosen thresholds among the points (so a reader finds them exactly)."""
    every = np.concatenate([negatives, *positives.values()])
    low = max(0.0, math.floor(float(every.min()) * 100) / 100)
    even = np.linspace(low, 1.0, CURVE_POINTS)  # plus where the measurements are dense
    dense = np.percentile(every, np.arange(1, 100))
    grid = sorted({round(float(x), 4) for x in np.concatenate([even, dense])} | set(extra))
    curve: dict = {"threshold": grid, "false_rate": [], "recall": {k: [] for k in positives}}
    for t in grid:
        recall, rate = rates_at(t, positives, negatives, bars)
        curve["false_rate"].append(round(rate, 6))
        for k, r in recall.items():
            curve["recall"][k].append(round(r, 6))
    return curve


@dataclass(frozen=True)
class Calibration:
    """One stored calibration of one model (the newest is in force)."""

    model_id: int
    thresholds: dict[str, float]  # strictness -> cosine
    targets: dict[str, float]  # strictness -> false rate allowed among negatives
    sample_size: int  # catalog photos sampled
    seed: int
    negatives: int  # nearest neighbours measured (sample minus those with no unrelated one)
    excluded: dict[str, int]  # neighbours skipped, by reason
    curve: dict = field(repr=False)
    created_at: datetime | None = None

    @property
    def threshold(self) -> float:
        return self.thresholds["balanced"]

    def at(self, t: float) -> tuple[dict[str, float], float]:
        """Recall per edit kind and false rate at the curve's point nearest ``t``."""
        grid = np.asarray(self.curve["threshold"])
        i = int(np.argmin(np.abs(grid - t)))
        recall = {k: v[i] for k, v in self.curve["recall"].items()}
        return recall, self.curve["false_rate"][i]

    def by_family(self, t: float) -> tuple[dict[str, float], float]:
        """Like `at`, with the recall averaged over each family of edits (FAMILY's words)."""
        recall, false_rate = self.at(t)
        families: dict[str, list[float]] = {}
        for kind, r in recall.items():
            families.setdefault(FAMILY.get(kind, kind), []).append(r)
        return {f: float(np.mean(v)) for f, v in families.items()}, false_rate

    def describe(self, strictness: str = "balanced") -> str:
        t = self.thresholds[strictness]
        families, false_rate = self.by_family(t)
        caught = ", ".join(f"{_pct(v)} of {f}" for f, v in families.items())
        return (
            f"threshold {t:.3f}, calibrated on {self.sample_size} of your photos: "
            f"catches {caught}; {_pct(false_rate)} of unrelated nearest neighbours are above it"
        )

    def levels_met(self) -> str | None:
        """Says when two strictness levels came out as one threshold, and why: at those
        cosines so few sampled photos could show an unrelated neighbour (`false_rate`) that
        their target shares are both less than one photo. None when all three differ."""
        same = [s for s in STRICTNESS if s != "balanced" and self.thresholds[s] == self.threshold]
        if not same:
            return None
        met = [*same[:1], "balanced", *same[1:]]
        names = f"{', '.join(met[:-1])} and {met[-1]}"
        return (
            f"{names} are one threshold here ({self.threshold:.4f}): too few of the "
            f"{self.sample_size} photos measured could show an unrelated neighbour that similar "
            "for their targets to differ; `vitrieve calibrate --images 400` measures more"
        )

    def to_dict(self) -> dict:
        return {
            "model_id": self.model_id,
            "threshold": self.threshold,
            "thresholds": self.thresholds,
            "targets": self.targets,
            "sample_size": self.sample_size,
            "seed": self.seed,
            "negatives": self.negatives,
            "excluded": self.excluded,
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "summary": self.describe(),
            "levels_met": self.levels_met(),
            "curve": self.curve,
        }


def _pct(x: float) -> str:
    p = 100 * x
    return f"{p:.0f}%" if p >= 10 or p == 0 else f"{p:.1f}%"

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


def threshold_for(negatives: np.ndarray, rate: float) -> float:
    """The lowest cosine (rounded up to 4 decimals) reached by at most ``rate`` of negatives."""
    if not len(negatives):
        raise ValueError("no negatives to calibrate on")
    ordered = np.sort(np.asarray(negatives, np.float64))[::-1]
    allowed = math.floor(rate * len(ordered) + 1e-9)
    if allowed >= len(ordered):
        return 0.0
    above = float(ordered[allowed])  # the first negative that must stay below
    return min(1.0, math.ceil(above * 1e4 + 1e-6) / 1e4)


def rates_at(
    t: float, positives: dict[str, np.ndarray], negatives: np.ndarray
) -> tuple[dict[str, float], float]:
    recall = {k: float(np.mean(v >= t)) if len(v) else 0.0 for k, v in positives.items()}
    return recall, float(np.mean(negatives >= t))


def build_curve(positives: dict[str, np.ndarray], negatives: np.ndarray, extra: list[float]):
    """{"threshold": [...], "false_rate": [...], "recall": {kind: [...]}} over the measured
    range, with the chosen thresholds among the points (so a reader finds them exactly)."""
    every = np.concatenate([negatives, *positives.values()])
    low = max(0.0, math.floor(float(every.min()) * 100) / 100)
    even = np.linspace(low, 1.0, CURVE_POINTS)  # plus where the measurements are dense
    dense = np.percentile(every, np.arange(1, 100))
    grid = sorted({round(float(x), 4) for x in np.concatenate([even, dense])} | set(extra))
    curve: dict = {"threshold": grid, "false_rate": [], "recall": {k: [] for k in positives}}
    for t in grid:
        recall, false_rate = rates_at(t, positives, negatives)
        curve["false_rate"].append(round(false_rate, 6))
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

    def describe(self, strictness: str = "balanced") -> str:
        t = self.thresholds[strictness]
        recall, false_rate = self.at(t)
        families: dict[str, list[float]] = {}
        for kind, r in recall.items():
            families.setdefault(FAMILY.get(kind, kind), []).append(r)
        caught = ", ".join(f"{_pct(float(np.mean(v)))} of {f}" for f, v in families.items())
        return (
            f"threshold {t:.3f}, calibrated on {self.sample_size} of your photos: "
            f"catches {caught}; {_pct(false_rate)} of unrelated nearest neighbours are above it"
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
            "curve": self.curve,
        }


def _pct(x: float) -> str:
    p = 100 * x
    return f"{p:.0f}%" if p >= 10 or p == 0 else f"{p:.1f}%"

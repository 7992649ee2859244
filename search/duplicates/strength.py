"""A similarity in plain words ("same photo", "near-duplicate", "similar"), read off the curve
the calibration measured on the user's photos, so a search result says what its score means
on this model's scale rather than on a scale nobody measured.

The rule (docs/DUPLICATES.md "Match strength"), for a score s and the newest calibration:

- **same photo**: s reaches both the strict threshold (almost no photo's nearest unrelated
  neighbour is that close) and the level 95% of the measured re-encodes and resizes reach;
- **near-duplicate**: s reaches the loose threshold (what `dups --strictness loose` groups);
- **similar**: s reaches the median of the nearest unrelated neighbours (as close as half
  of the photos' closest other photo is), capped at the loose threshold;
- below that, nothing is said ("").

Before any calibration the same words use fixed levels (0.98, the fixed duplicate threshold
0.90, and 0.80), which are as unmeasured as the old 0.90 itself. Pure: no catalog, no model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vitrieve.search.duplicates.curve import Calibration
from vitrieve.search.duplicates.edits import FAMILY
from vitrieve.search.duplicates.find import DEFAULT_THRESHOLD

SAME, NEAR, SIMILAR = "same photo", "near-duplicate", "similar"
SAME_FAMILY = "re-encodes and resizes"
SAME_SHARE = 0.95  # of the re-encodes and resizes at or above the "same photo" level
SIMILAR_SHARE = 0.5  # of the nearest unrelated neighbours at or above the "similar" level


@dataclass(frozen=True, slots=True)
class StrengthLevels:
    """The lowest score each word needs; ``calibrated`` False: the fixed fallback."""

    same: float
    near: float
    similar: float
    calibrated: bool

    def word(self, score: float) -> str:
        if score >= self.same:
            return SAME
        if score >= self.near:
            return NEAR
        if score >= self.similar:
            return SIMILAR
        return ""


FIXED = StrengthLevels(same=0.98, near=DEFAULT_THRESHOLD, similar=0.80, calibrated=False)


def level_reached_by(thresholds: Sequence[float], shares: Sequence[float], share: float) -> float:
    """The highest point of a stored curve at which at least ``share`` of a distribution is at
    or above it (its 1 - share quantile, read off the curve); the curve's lowest point if none."""
    t = np.asarray(thresholds, np.float64)
    reached = t[np.asarray(shares, np.float64) >= share - 1e-9]
    return float(reached.max()) if reached.size else float(t.min())


def family_shares(calibration: Calibration, family: str) -> list[float]:
    """Per curve point, the mean share of that family's edit kinds at or above it."""
    kinds = [k for k in calibration.curve["recall"] if FAMILY.get(k, k) == family]
    rows = np.asarray([calibration.curve["recall"][k] for k in kinds], np.float64)
    return [float(x) for x in rows.mean(axis=0)]


def strength_levels(calibration: Calibration | None) -> StrengthLevels:
    if calibration is None:
        return FIXED
    grid = calibration.curve["threshold"]
    reencoded = level_reached_by(grid, family_shares(calibration, SAME_FAMILY), SAME_SHARE)
    near = calibration.thresholds["loose"]
    typical = level_reached_by(grid, calibration.curve["false_rate"], SIMILAR_SHARE)
    return StrengthLevels(
        same=max(calibration.thresholds["strict"], reencoded),
        near=near,
        similar=min(near, typical),
        calibrated=True,
    )


def match_strength(calibration: Calibration | None, score: float) -> str:
    """ "same photo" / "near-duplicate" / "similar" / "" for ``score`` (see the module's rule)."""
    return strength_levels(calibration).word(score)

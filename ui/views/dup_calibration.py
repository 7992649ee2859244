"""What the Duplicates page shows of the threshold calibration, as plain data (no Streamlit):
which threshold a strictness or a hand-set value means and why, the two measured
distributions as chart rows, the strictness thresholds as rules, and what each would do.

The distributions are drawn from the stored curve (search/duplicates/curve.py), which holds,
at each of its points, the share of each distribution at or above it: the share inside a bin is
the difference of those shares at its two edges (read between points by linear interpolation).
The x range starts where the chart has something to say (``x_start``); what lies below it is
left out of the bins and said in the caption, so no share is lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vitrieve.search.duplicates.curve import STRICTNESS, Calibration
from vitrieve.search.duplicates.edits import FAMILY
from vitrieve.search.duplicates.find import DEFAULT_THRESHOLD
from vitrieve.search.duplicates.strength import level_reached_by

NEGATIVES = "unrelated nearest neighbour"
BINS = 60
CUSTOM = "custom"
HOW_TO_CALIBRATE = (
    f"Uncalibrated: the fixed {DEFAULT_THRESHOLD:.2f} applies at every strictness, a value "
    "chosen on a random model. Run `vitrieve calibrate` (200 embedded photos or more) to "
    "measure where copies and unrelated photos sit on your photos with this model."
)


@dataclass(frozen=True, slots=True)
class Distributions:
    """Chart rows: one per (series, bin): ``series`` an edit kind or NEGATIVES, ``start`` and
    ``end`` the bin's similarity edges, ``share`` of that series in the bin. ``low`` is the x
    range's start; ``below`` the share of each series under it (left out of the bins, so a
    pile far to the left cannot flatten the rest): bins and below sum to 1 per series."""

    rows: list[dict]
    low: float
    below: dict[str, float]


def pct(x: float) -> str:
    p = 100 * x
    return f"{p:.0f}%" if p >= 10 or p == 0 else f"{p:.1f}%"


def _shares(cal: Calibration) -> dict[str, list[float]]:
    """Series -> its share at or above each curve point (edit kinds first, negatives last)."""
    return {**cal.curve["recall"], NEGATIVES: cal.curve["false_rate"]}


def x_start(cal: Calibration) -> float:
    """Below every threshold and every distribution's median, but no further from 1 than ten
    times the lowest threshold is: a kind whose copies mostly fall far off (a colour change on
    some models) must not squeeze the thresholds into one pixel."""
    grid = cal.curve["threshold"]
    medians = [level_reached_by(grid, s, 0.5) for s in _shares(cal).values()]
    lowest = min(cal.thresholds.values())
    low = max(min([lowest, *medians]), 1 - 10 * (1 - lowest))
    return max(0.0, math.floor((low - 0.01) * 100) / 100)


def distributions(cal: Calibration, bins: int = BINS) -> Distributions:
    grid = np.asarray(cal.curve["threshold"], np.float64)
    low = x_start(cal)
    edges = np.linspace(low, 1.0, bins + 1)
    rows: list[dict] = []
    below: dict[str, float] = {}
    for series, shares in _shares(cal).items():
        at = np.interp(edges, grid, np.asarray(shares, np.float64), left=1.0)
        inside = at[:-1] - np.append(at[1:-1], 0.0)  # the last bin keeps what reaches 1.0
        below[series] = max(0.0, 1.0 - float(at[0]))
        for start, end, share in zip(edges[:-1], edges[1:], inside, strict=True):
            rows.append(
                {
                    "series": series,
                    "family": FAMILY.get(series, NEGATIVES),
                    "start": round(float(start), 4),
                    "end": round(float(end), 4),
                    "share": max(0.0, float(share)),
                }
            )
    return Distributions(rows, low, below)


def threshold_rules(cal: Calibration, in_force: float) -> list[dict]:
    """Vertical rules: the three strictness thresholds and the one the page groups at."""
    rules = [{"label": s, "similarity": cal.thresholds[s]} for s in STRICTNESS]
    return [*rules, {"label": "in force", "similarity": in_force}]


def strictness_table(cal: Calibration, in_force: float) -> list[dict]:
    """Per strictness (and the threshold in force when it is none of them): the threshold,
    the share of each edit family it catches and of unrelated nearest neighbours above it."""
    points = [(s, cal.thresholds[s]) for s in STRICTNESS]
    if all(abs(in_force - t) > 1e-9 for _, t in points):
        points.append((CUSTOM, in_force))
    rows = []
    for name, t in points:
        families, false_rate = cal.by_family(t)
        row = {
            "strictness": name,
            "threshold": f"{t:.4f}",
            "in force": "yes" if abs(in_force - t) <= 1e-9 else "",
        }
        row |= {f"catches {f}": pct(v) for f, v in families.items()}
        row["unrelated above"] = pct(false_rate)
        rows.append(row)
    return rows


def why(cal: Calibration | None, threshold: float, strictness: str) -> str:
    """The sentence beside the control: `vitrieve status`'s line at a calibrated strictness,
    what a hand-set threshold does on the measured curve, or how to calibrate."""
    if cal is None:
        if abs(threshold - DEFAULT_THRESHOLD) <= 1e-9:
            return HOW_TO_CALIBRATE
        return f"custom threshold {threshold:.3f}, uncalibrated. " + HOW_TO_CALIBRATE
    if abs(threshold - cal.thresholds.get(strictness, -1.0)) <= 1e-9:
        return cal.describe(strictness)
    families, false_rate = cal.by_family(threshold)
    caught = ", ".join(f"{pct(v)} of {f}" for f, v in families.items())
    return (
        f"custom threshold {threshold:.4f}, set by hand; on the {cal.sample_size} photos "
        f"measured it catches {caught}; {pct(false_rate)} of unrelated nearest neighbours "
        "are above it"
    )


def slider_range(cal: Calibration | None) -> tuple[float, float]:
    """The custom threshold's range: down to 0.80, or below the lowest calibrated threshold."""
    lowest = min(cal.thresholds.values()) if cal is not None else DEFAULT_THRESHOLD
    return min(0.80, math.floor((lowest - 0.05) * 100) / 100), 1.0

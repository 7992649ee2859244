"""What the Duplicates page draws of a calibration, as data: the two measured distributions
(each whole, copies to the right of the thresholds, unrelated neighbours to the left), the
rules of the three strictness thresholds and the one in force, what each would catch, and the
sentence that says which threshold is in force and why."""

from __future__ import annotations

import pytest

from tests.support import synthetic_calibration
from vitrieve.search.duplicates.curve import STRICTNESS
from vitrieve.search.duplicates.edits import KINDS
from vitrieve.ui.views.dup_calibration import (
    CUSTOM,
    NEGATIVES,
    distributions,
    slider_range,
    strictness_table,
    threshold_rules,
    why,
)


@pytest.fixture(scope="module")
def cal():
    """A squashed scale: re-encodes 0.995-1.0, crops 0.97-0.995, unrelated neighbours 0.95-0.99,
    and colour changes far below (the tiny ViT maps some as far as -0.7)."""
    return synthetic_calibration(
        {
            "jpeg_q30": (0.995, 1.0),
            "resize_50": (0.995, 1.0),
            "resize_25": (0.995, 1.0),
            "crop": (0.97, 0.995),
            "tone": (-0.7, 0.99),
        },
        negatives=(0.95, 0.99),
    )


def test_each_distribution_is_drawn_whole_with_what_lies_below_the_range_said_apart(cal):
    data = distributions(cal, bins=50)
    series = {r["series"] for r in data.rows}
    assert series == {*KINDS, NEGATIVES}
    for s in series:
        rows = [r for r in data.rows if r["series"] == s]
        total = sum(r["share"] for r in rows) + data.below[s]
        assert len(rows) == 50 and total == pytest.approx(1.0, abs=1e-6)
    assert data.rows[0]["start"] == data.low <= min(cal.thresholds.values())
    assert 0.85 <= data.low < 0.95  # starts where something happens, not at the tone's -0.7
    tone_under = (data.low + 0.7) / 1.69  # the tone edits spread evenly over -0.7 .. 0.99
    assert data.below["tone"] == pytest.approx(tone_under, abs=0.02)
    assert data.below[NEGATIVES] == 0.0


def test_copies_sit_right_of_the_balanced_threshold_and_neighbours_left(cal):
    t = cal.thresholds["balanced"]
    data = distributions(cal)

    def share(series: str, above: bool) -> float:
        rows = [r for r in data.rows if r["series"] == series]
        inside = sum(r["share"] for r in rows if (r["end"] > t if above else r["end"] <= t))
        return inside if above else inside + data.below[series]

    assert share("jpeg_q30", above=True) == pytest.approx(1.0, abs=0.01)
    assert share(NEGATIVES, above=False) >= 0.95


def test_rules_mark_every_strictness_and_the_threshold_in_force(cal):
    rules = threshold_rules(cal, 0.9931)
    assert [r["label"] for r in rules] == [*STRICTNESS, "in force"]
    assert [r["similarity"] for r in rules] == [*(cal.thresholds[s] for s in STRICTNESS), 0.9931]


def test_the_table_says_what_each_strictness_catches_and_lets_through(cal):
    rows = strictness_table(cal, cal.thresholds["balanced"])
    assert [r["strictness"] for r in rows] == list(STRICTNESS)
    assert [r["in force"] for r in rows] == ["", "yes", ""]
    balanced = rows[1]
    assert balanced["catches re-encodes and resizes"] == "100%"
    assert balanced["unrelated above"] == "1.0%"  # the balanced target
    assert set(balanced) >= {"catches crops", "catches colour changes"}
    custom = strictness_table(cal, 0.96)  # a hand-set threshold gets its own row
    assert [r["strictness"] for r in custom] == [*STRICTNESS, CUSTOM]
    assert custom[-1]["in force"] == "yes" and custom[-1]["unrelated above"] in {"75%", "76%"}


def test_the_sentence_is_the_status_line_on_the_curve_and_says_a_hand_set_one_off_it(cal):
    assert why(cal, cal.thresholds["strict"], "strict") == cal.describe("strict")
    assert why(cal, cal.thresholds["balanced"], "balanced").startswith("threshold 0.9")
    hand = why(cal, 0.96, "balanced")
    assert hand.startswith("custom threshold 0.9600, set by hand; on the 200 photos measured")
    assert "100% of re-encodes and resizes, 100% of crops, 2.0% of colour changes;" in hand
    assert hand.endswith("% of unrelated nearest neighbours are above it")


def test_before_calibration_the_fixed_threshold_and_how_to_calibrate_are_said():
    line = why(None, 0.90, "balanced")
    assert "fixed 0.90" in line and "`vitrieve calibrate`" in line
    assert why(None, 0.95, "strict").startswith("custom threshold 0.950, uncalibrated")
    assert slider_range(None) == (0.80, 1.0)


def test_the_custom_range_holds_every_calibrated_threshold():
    low_scale = synthetic_calibration({"jpeg_q30": (0.6, 0.7)}, negatives=(0.2, 0.5))
    low, high = slider_range(low_scale)
    assert low <= min(low_scale.thresholds.values()) and high == 1.0

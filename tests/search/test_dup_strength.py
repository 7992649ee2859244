"""A score in plain words is read off the curve measured on the user's photos: the same cosine
means "same photo" on one model's scale and nothing on another's, and before any calibration
the fixed levels (0.98, 0.90, 0.80) apply."""

from __future__ import annotations

from tests.support import synthetic_calibration
from vitrieve.search.duplicates.strength import (
    FIXED,
    NEAR,
    SAME,
    SIMILAR,
    match_strength,
    strength_levels,
)


def test_before_calibration_the_fixed_levels_apply():
    assert [match_strength(None, s) for s in (1.0, 0.98, 0.95, 0.90, 0.85, 0.80, 0.5)] == [
        SAME,
        SAME,
        NEAR,
        NEAR,
        SIMILAR,
        SIMILAR,
        "",
    ]
    assert not FIXED.calibrated


def test_a_squashed_scale_moves_every_word_up():
    """Unrelated nearest neighbours at 0.95-0.99 (every pair above 0.9, as CLIP users report):
    0.975 is an ordinary neighbour here, not the near-duplicate the fixed levels would call it."""
    cal = synthetic_calibration(
        {"jpeg_q30": (0.995, 1.0), "resize_50": (0.995, 1.0), "resize_25": (0.995, 1.0)},
        negatives=(0.95, 0.99),
    )
    levels = strength_levels(cal)
    assert levels.calibrated and levels.similar <= levels.near <= levels.same
    assert levels.near == cal.thresholds["loose"] and levels.same >= cal.thresholds["strict"]
    assert match_strength(None, 0.975) == NEAR
    assert match_strength(cal, 0.975) == SIMILAR  # above the neighbours' median (0.97)
    assert match_strength(cal, 0.965) == ""
    assert match_strength(cal, 0.9995) == SAME
    between = (cal.thresholds["loose"] + levels.same) / 2
    assert match_strength(cal, between) == NEAR


def test_a_spread_scale_moves_every_word_down():
    """Re-encodes at 0.85-0.90 and unrelated neighbours at 0.30-0.60: a re-encode that the
    fixed levels call merely similar is the same photo on this scale."""
    cal = synthetic_calibration(
        {"jpeg_q30": (0.85, 0.90), "crop": (0.65, 0.80), "rotate": (0.65, 0.80)},
        negatives=(0.30, 0.60),
    )
    levels = strength_levels(cal)
    assert 0.85 <= levels.same <= 0.86  # 95% of the re-encodes and resizes reach it
    assert match_strength(None, 0.88) == SIMILAR
    assert match_strength(cal, 0.88) == SAME
    assert match_strength(cal, 0.70) == NEAR  # a crop: above the loose threshold (~0.59)
    assert match_strength(cal, 0.50) == SIMILAR  # closer than half the nearest neighbours
    assert match_strength(cal, 0.40) == ""


def test_same_photo_never_sits_below_the_strict_threshold():
    """Re-encodes that overlap the unrelated neighbours: only the strict threshold says same."""
    cal = synthetic_calibration({"jpeg_q30": (0.80, 0.95)}, negatives=(0.70, 0.92))
    assert strength_levels(cal).same == cal.thresholds["strict"]
    assert match_strength(cal, 0.91) != SAME

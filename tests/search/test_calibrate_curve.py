"""From measured negatives to a threshold (search/duplicates/curve.py): pure numbers in, out."""

from __future__ import annotations

import numpy as np

from vitrieve.search.duplicates.curve import Calibration, false_rate, threshold_for


def test_the_threshold_lets_at_most_the_target_share_of_negatives_through():
    negatives = np.arange(100) / 100  # 0.00 .. 0.99
    t = threshold_for(negatives, 0.01)
    assert t == 0.9801  # only 0.99 reaches it: 1 of 100
    assert false_rate(negatives, None, t) == 0.01
    assert threshold_for(negatives, 0.05) == 0.9401


def test_photos_whose_bar_is_higher_than_every_cosine_change_nothing():
    negatives = np.random.default_rng(0).uniform(0.2, 0.9, 300)
    for rate in (0.001, 0.01, 0.05):
        assert threshold_for(negatives, rate, np.full(300, 1.5)) == threshold_for(negatives, rate)


def test_photos_with_a_low_bar_do_not_dilute_the_rate_above_it():
    """90 photos whose weakest edit sits at 0.5 (a model that maps a letterbox far): every
    neighbour above 0.5 was excused as edit-like, so their negatives are all low. Above 0.5
    only the 10 other photos can show a false grouping, and all 10 do at 0.80-0.89."""
    high = 0.80 + np.arange(10) / 100  # 0.80 .. 0.89, bar 0.95
    low = np.arange(90) / 200  # 0.000 .. 0.445, bar 0.5
    negatives = np.concatenate([high, low])
    bars = np.concatenate([np.full(10, 0.95), np.full(90, 0.5)])
    plain = threshold_for(negatives, 0.1)
    assert plain < 0.5  # the low ones fill the 10% allowance: every high one would group
    assert false_rate(negatives, bars, 0.8) == 1.0  # all 10 photos that could, do
    t = threshold_for(negatives, 0.1, bars)
    assert t == 0.8801  # 1 of the 10 photos at risk
    assert false_rate(negatives, bars, t) == 0.1


def _calibration(thresholds: dict[str, float]) -> Calibration:
    return Calibration(
        model_id=1,
        thresholds=thresholds,
        targets={"strict": 0.001, "balanced": 0.01, "loose": 0.05},
        sample_size=200,
        seed=0,
        negatives=150,
        excluded={},
        curve={},
    )


def test_levels_that_came_out_as_one_threshold_are_said_with_the_remedy():
    apart = _calibration({"strict": 0.99, "balanced": 0.98, "loose": 0.95})
    assert apart.levels_met() is None
    met = _calibration({"strict": 0.9978, "balanced": 0.9978, "loose": 0.95}).levels_met()
    assert met is not None
    assert met.startswith("strict and balanced are one threshold here (0.9978)")
    assert "of the 200 photos measured" in met and "--images 400" in met
    all_three = _calibration({"strict": 0.99, "balanced": 0.99, "loose": 0.99}).levels_met()
    assert all_three is not None
    assert all_three.startswith("strict, balanced and loose are one threshold")

"""The vendored calibrators: they recover known parameters and stay finite where a naive fit
would not (the equality with scikit-learn's CalibratedClassifierCV is pinned in test_tag_fit)."""

import numpy as np

from vitrieve.search.tagging.calibration import fit_platt, fit_temperature


def sample_classes(logits: np.ndarray, beta: float, rng) -> np.ndarray:
    p = np.exp(beta * logits - (beta * logits).max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return np.array([rng.choice(len(row), p=row) for row in p])


def test_temperature_recovers_the_inverse_temperature_labels_were_drawn_with():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20_000, 4))
    y = sample_classes(logits, beta=2.5, rng=rng)
    assert abs(fit_temperature(logits, y) - 2.5) < 0.1


def test_temperature_of_binary_decision_values_treats_them_as_logits_minus_d_and_d():
    rng = np.random.default_rng(1)
    d = rng.normal(size=10_000)
    y = sample_classes(np.stack([-d, d], axis=1), beta=0.5, rng=rng)
    assert fit_temperature(d, y) == fit_temperature(np.stack([-d, d], axis=1), y)
    assert abs(fit_temperature(d, y) - 0.5) < 0.05


def test_platt_recovers_slope_and_intercept():
    rng = np.random.default_rng(2)
    d = rng.normal(scale=2.0, size=20_000)
    positive = rng.random(d.size) < 1 / (1 + np.exp(-1.5 * d + 0.7))  # a = -1.5, b = 0.7
    a, b = fit_platt(d, positive)
    assert abs(a + 1.5) < 0.1 and abs(b - 0.7) < 0.1


def test_platt_on_perfectly_separated_decisions_stays_finite_thanks_to_smoothed_targets():
    d = np.r_[np.linspace(-80, -40, 50), np.linspace(40, 80, 50)]
    a, b = fit_platt(d, d > 0)
    assert np.isfinite([a, b]).all() and a < 0
    assert 1 / (1 + np.exp(a * 60 + b)) < 1.0  # never certain

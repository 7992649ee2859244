"""The two calibrators a probe stores: temperature scaling (single-label) and Platt's sigmoid
(one per label, multi-label).

scikit-learn has both, but only as private classes (`_TemperatureScaling`, which exists only
since 1.8, and `_SigmoidCalibration`): depending on them would tie vitrieve to one scikit-learn
release. These are the same fits, written against scipy's public optimisers, so the stored
numbers still equal what `CalibratedClassifierCV(ensemble=False)` holds (a test pins that
against the installed scikit-learn), on any scikit-learn the project supports.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_expit, logsumexp

__all__ = ["fit_platt", "fit_temperature"]

#: Platt's fit rescales decision values this large (no effect on the result, better numerics).
_MAX_ABS_DECISION = 30.0


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Inverse temperature beta minimising the mean negative log-likelihood of
    softmax(beta * logits) for true classes ``y``; optimised over log(beta) in [-10, 10]."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim == 1:  # binary decision values d: logits (-d, d)
        logits = np.stack([-logits, logits], axis=1)
    y = np.asarray(y, dtype=np.int64)
    true_logit = logits[np.arange(len(y)), y]

    def mean_nll(log_beta: float) -> float:
        beta = math.exp(log_beta)
        return float(np.mean(logsumexp(beta * logits, axis=1) - beta * true_logit))

    result = minimize_scalar(
        mean_nll, bounds=(-10.0, 10.0), options={"xatol": 64 * np.finfo(np.float64).eps}
    )
    if not result.success:  # pragma: no cover - bounded Brent does not fail on a convex loss
        raise RuntimeError(f"temperature scaling did not converge: {result.message}")
    return math.exp(float(result.x))


def fit_platt(decisions: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Platt (2000): P(positive | d) = 1 / (1 + exp(a*d + b)), fitted on targets smoothed by
    the class priors (Platt's section 2.2) so a perfectly separated fold does not give
    infinite slopes. Returns (a, b)."""
    F = np.asarray(decisions, dtype=np.float64).ravel()
    positive = np.asarray(positive, dtype=bool).ravel()
    scale = 1.0
    largest = float(np.max(np.abs(F))) if F.size else 0.0
    if largest >= _MAX_ABS_DECISION:
        scale = largest
        F = F / scale
    prior1 = float(positive.sum())
    prior0 = float(len(positive)) - prior1
    target = np.where(positive, (prior1 + 1.0) / (prior1 + 2.0), 1.0 / (prior0 + 2.0))

    def loss_grad(ab: np.ndarray) -> tuple[float, np.ndarray]:
        raw = -(ab[0] * F + ab[1])  # log-odds of the positive class
        # Binomial deviance with soft targets: log(1 + e^raw) - t * raw, and its gradient.
        loss = float(np.sum(-log_expit(-raw) - target * raw))
        g = expit(raw) - target
        return loss, np.array([-g @ F, -g.sum()])

    start = np.array([0.0, math.log((prior0 + 1.0) / (prior1 + 1.0))])
    result = minimize(
        loss_grad,
        start,
        method="L-BFGS-B",
        jac=True,
        options={"gtol": 1e-6, "ftol": 64 * np.finfo(float).eps},
    )
    return float(result.x[0] / scale), float(result.x[1])

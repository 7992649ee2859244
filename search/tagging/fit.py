"""Fitting a linear probe with scikit-learn, and the cross-validated numbers that judge it.

Single-label (each image one label, e.g. label folders): one multinomial logistic regression.
Multi-label (some image has several labels): one binary logistic regression per label
(one-vs-rest). Class weights are balanced in both, so a big class cannot drown a small one.

Scores are calibrated on out-of-fold decision values, so a threshold of 0.8 means "right about
80% of the time" on images like the labelled ones. Single-label: temperature scaling, one
inverse temperature for the softmax (`CalibratedClassifierCV(method="temperature",
ensemble=False)`); on synthetic data its top-label calibration error was 2-10x smaller than
per-class Platt sigmoids renormalised to sum 1. Multi-label: Platt's sigmoid per label (each
label is its own binary problem), as `OneVsRestClassifier(CalibratedClassifierCV(
method="sigmoid", ensemble=False))`. The result is plain arrays and a few numbers, all that
`store.LinearProbe` needs to score vectors with numpy alone.

The out-of-fold predictions of the same k folds give the reported metrics: k fits for those
and for calibration, one more on all images for the stored coefficients.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
)
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

from vitrieve.search.tagging.calibration import fit_platt, fit_temperature

DEFAULT_C = 1.0  # inverse L2 strength; vectors are unit length, so this barely constrains
MAX_ITER = 1000
MAX_FOLDS = 5
RANDOM_STATE = 0  # fold shuffling: the same labels always give the same probe and metrics


@dataclass
class FittedProbe:
    classes: list[str]  # row order of coef / intercept / a / b
    multilabel: bool
    coef: np.ndarray  # float32 [C, D]
    intercept: np.ndarray  # float32 [C]
    calibration: dict  # JSON: {"method": "temperature", "beta"} or {"method": "platt", "a", "b"}
    metrics: dict = field(default_factory=dict)


def base_estimator(C: float = DEFAULT_C) -> LogisticRegression:
    return LogisticRegression(C=C, class_weight="balanced", max_iter=MAX_ITER)


def folds(k: int) -> StratifiedKFold:
    return StratifiedKFold(n_splits=k, shuffle=True, random_state=RANDOM_STATE)


def n_folds(smallest: int) -> int:
    """k = min(5, smallest class count), at least 2: every fold must see every class."""
    return max(2, min(MAX_FOLDS, smallest))


def fit_probe(
    vectors: np.ndarray,
    labels: Sequence[Sequence[str]],
    *,
    multilabel: bool,
    C: float = DEFAULT_C,
) -> FittedProbe:
    """`labels[i]` are the labels of `vectors[i]`; check trainability first (LabelSet)."""
    started = time.perf_counter()
    X = np.asarray(vectors, dtype=np.float64)
    classes = sorted({label for image_labels in labels for label in image_labels})
    # Dense problems of this size run several times slower with OpenBLAS's threads (they spin
    # against each other on few cores); one thread is fast and identical in result.
    with threadpool_limits(1, user_api="blas"):
        if multilabel:
            probe = _fit_multilabel(X, labels, classes, C)
        else:
            probe = _fit_single(X, [image_labels[0] for image_labels in labels], classes, C)
    probe.metrics |= {"C": C, "train_seconds": round(time.perf_counter() - started, 3)}
    return probe


def _fit_single(X: np.ndarray, names: list[str], classes: list[str], C: float) -> FittedProbe:
    y = np.searchsorted(classes, names)
    k = n_folds(int(np.bincount(y).min()))
    cv = folds(k)
    oof = cross_val_predict(base_estimator(C), X, y, cv=cv, method="decision_function")
    final = base_estimator(C).fit(X, y)
    coef, intercept = final.coef_, final.intercept_
    beta = fit_temperature(oof, y)
    if len(classes) == 2:
        # sklearn keeps one row (class 1) for two classes and calibrates the logits (-d, d);
        # storing both rows makes every single-label probe softmax(beta * logits).
        coef, intercept = np.vstack([-coef[0], coef[0]]), np.array([-intercept[0], intercept[0]])
        oof = np.stack([-oof, oof], axis=1)
    predicted = oof.argmax(axis=1)  # == LogisticRegression.predict of each fold's model
    metrics = _single_label_metrics(y, predicted, classes, cv.split(X, y), k)
    return FittedProbe(
        classes,
        False,
        coef.astype(np.float32),
        intercept.astype(np.float32),
        {"method": "temperature", "beta": beta},
        metrics,
    )


def _fit_multilabel(
    X: np.ndarray, labels: Sequence[Sequence[str]], classes: list[str], C: float
) -> FittedProbe:
    Y = np.zeros((len(labels), len(classes)), dtype=np.int64)
    index = {label: j for j, label in enumerate(classes)}
    for i, image_labels in enumerate(labels):
        Y[i, [index[label] for label in image_labels]] = 1
    positives = Y.sum(axis=0)
    k = n_folds(int(np.minimum(positives, len(Y) - positives).min()))
    coef = np.empty((len(classes), X.shape[1]))
    intercept = np.empty(len(classes))
    platt = np.empty((len(classes), 2))
    predicted = np.zeros_like(Y)
    for j in range(len(classes)):
        oof = cross_val_predict(
            base_estimator(C), X, Y[:, j], cv=folds(k), method="decision_function"
        )
        final = base_estimator(C).fit(X, Y[:, j])
        coef[j], intercept[j] = final.coef_[0], final.intercept_[0]
        platt[j] = fit_platt(oof, Y[:, j] == 1)
        predicted[:, j] = oof > 0
    return FittedProbe(
        classes,
        True,
        coef.astype(np.float32),
        intercept.astype(np.float32),
        {"method": "platt", "a": platt[:, 0].tolist(), "b": platt[:, 1].tolist()},
        _multilabel_metrics(Y, predicted, classes, k),
    )


def _per_class(classes, y_true, y_pred, labels=None) -> dict:
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        c: {
            "precision": float(p[j]),
            "recall": float(r[j]),
            "f1": float(f[j]),
            "support": int(s[j]),
        }
        for j, c in enumerate(classes)
    }


def _single_label_metrics(y, predicted, classes, splits, k: int) -> dict:
    labels = list(range(len(classes)))
    return {
        "mode": "single-label",
        "estimator": "multinomial logistic regression, balanced class weights",
        "calibration": "temperature scaling of the softmax, fitted on out-of-fold decisions",
        "folds": k,
        "images": len(y),
        "accuracy": float(accuracy_score(y, predicted)),
        "macro_f1": float(f1_score(y, predicted, average="macro", labels=labels, zero_division=0)),
        "fold_accuracy": [float(accuracy_score(y[test], predicted[test])) for _, test in splits],
        "per_class": _per_class(classes, y, predicted, labels),
        "confusion_matrix": {
            "labels": classes,  # rows: true label, columns: predicted label
            "matrix": confusion_matrix(y, predicted, labels=labels).tolist(),
        },
    }


def _multilabel_metrics(Y, predicted, classes, k: int) -> dict:
    return {
        "mode": "multi-label",
        "estimator": "one-vs-rest binary logistic regressions, balanced class weights",
        "calibration": "Platt sigmoid per label, fitted on out-of-fold decisions",
        "folds": k,
        "images": len(Y),
        "accuracy": float(accuracy_score(Y, predicted)),  # whole label set right
        "label_accuracy": float((predicted == Y).mean()),
        "macro_f1": float(f1_score(Y, predicted, average="macro", zero_division=0)),
        "per_class": _per_class(classes, Y, predicted),
        "confusion_matrix": {
            "labels": classes,  # per label: [[true neg, false pos], [false neg, true pos]]
            "per_label": multilabel_confusion_matrix(Y, predicted).tolist(),
        },
    }

"""A probe is scikit-learn's calibrated logistic regression, kept as arrays that lose nothing.

Synthetic embeddings with known structure: the probe must reach the accuracy the data allows,
its cross-validation numbers must equal a hand-run scikit-learn reference, and scoring from
the stored arrays with numpy must equal the calibrated estimator's predict_proba.
"""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
)
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier

from vitrieve.indexer.library import Library
from vitrieve.search.tagging.fit import fit_probe
from vitrieve.search.tagging.store import LinearProbe, latest_probe, save_probe

DIM = 48


def clustered(n_classes: int, per_class: int, spread: float, seed: int = 0, noise_seed=None):
    """Unit vectors around one random centre per class (centres from `seed`, noise from
    `noise_seed`: same seed, other noise = unseen images of the same classes)."""
    centres = np.random.default_rng(seed).normal(size=(n_classes, DIM))
    rng = np.random.default_rng(seed + 1000 if noise_seed is None else noise_seed)
    y = np.repeat(np.arange(n_classes), per_class)
    X = centres[y] + spread * rng.normal(size=(len(y), DIM))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), y


def names(y) -> list[list[str]]:
    return [[f"class{v:02d}"] for v in y]


def reference_estimator() -> LogisticRegression:
    """What the probe is documented to be, written out by hand."""
    return LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)


def reference_folds(k: int) -> StratifiedKFold:
    return StratifiedKFold(n_splits=k, shuffle=True, random_state=0)


def numpy_scores(probe, X: np.ndarray) -> np.ndarray:
    return LinearProbe(
        0, "p", 1, 0, probe.classes, probe.multilabel, probe.coef, probe.intercept,
        probe.calibration,
    ).scores(X)  # fmt: skip


def test_separable_embeddings_are_classified_perfectly():
    X, y = clustered(n_classes=5, per_class=12, spread=0.05)
    probe = fit_probe(X, names(y), multilabel=False)
    assert probe.metrics["accuracy"] == 1.0 and probe.metrics["macro_f1"] == 1.0
    assert probe.metrics["folds"] == 5 and probe.metrics["images"] == 60
    test_X, test_y = clustered(n_classes=5, per_class=20, spread=0.05, noise_seed=99)
    assert (numpy_scores(probe, test_X).argmax(axis=1) == test_y).all()


def test_accuracy_matches_the_share_of_correct_labels_when_some_are_wrong():
    X, y = clustered(n_classes=4, per_class=100, spread=0.05, seed=1)
    flipped = y.copy()
    rng = np.random.default_rng(2)
    wrong = rng.choice(len(y), size=40, replace=False)  # 10% wrong labels
    flipped[wrong] = (y[wrong] + rng.integers(1, 4, size=40)) % 4
    probe = fit_probe(X, names(flipped), multilabel=False)
    # The probe follows the clusters, so it "misses" exactly the mislabelled images.
    assert probe.metrics["accuracy"] == pytest.approx(0.90, abs=0.02)


def test_cross_validation_numbers_match_a_hand_run_scikit_learn_reference():
    X, y = clustered(n_classes=3, per_class=15, spread=0.9, seed=3)  # overlapping: errors
    y[:4] = 2  # unequal classes: 9, 15, 21 images
    probe = fit_probe(X, names(y), multilabel=False)
    folds = reference_folds(5)
    predicted = cross_val_predict(reference_estimator(), X.astype(np.float64), y, cv=folds)
    m = probe.metrics
    assert 0.4 < m["accuracy"] < 1.0  # a case where the numbers carry information
    assert m["accuracy"] == pytest.approx(accuracy_score(y, predicted), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(f1_score(y, predicted, average="macro"), abs=1e-12)
    p, r, _, support = precision_recall_fscore_support(y, predicted)
    for j, label in enumerate(["class00", "class01", "class02"]):
        assert m["per_class"][label]["precision"] == pytest.approx(p[j], abs=1e-12)
        assert m["per_class"][label]["recall"] == pytest.approx(r[j], abs=1e-12)
        assert m["per_class"][label]["support"] == support[j]
    assert m["confusion_matrix"]["matrix"] == confusion_matrix(y, predicted).tolist()
    fold_acc = [accuracy_score(y[t], predicted[t]) for _, t in folds.split(X, y)]
    assert m["fold_accuracy"] == pytest.approx(fold_acc, abs=1e-12)


def test_folds_shrink_to_the_smallest_class_but_never_below_two():
    X, y = clustered(n_classes=3, per_class=10, spread=0.3, seed=4)
    keep = np.r_[0:3, 10:30]  # class 0 has 3 images
    assert fit_probe(X[keep], names(y[keep]), multilabel=False).metrics["folds"] == 3
    keep = np.r_[0:2, 10:30]
    assert fit_probe(X[keep], names(y[keep]), multilabel=False).metrics["folds"] == 2


@pytest.mark.skipif(
    tuple(int(p) for p in sklearn.__version__.split(".")[:2]) < (1, 8),
    reason="this scikit-learn has no temperature scaling to compare with (added in 1.8)",
)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_numpy_scores_equal_the_calibrated_estimators_predict_proba(n_classes):
    X, y = clustered(n_classes=n_classes, per_class=20, spread=0.8, seed=5)
    probe = fit_probe(X, names(y), multilabel=False)
    reference = CalibratedClassifierCV(
        reference_estimator(), method="temperature", cv=reference_folds(5), ensemble=False
    ).fit(X.astype(np.float64), y)
    unseen, _ = clustered(n_classes=n_classes, per_class=10, spread=0.8, seed=5, noise_seed=6)
    for vectors in (X, unseen):
        expected = reference.predict_proba(vectors.astype(np.float64))
        np.testing.assert_allclose(numpy_scores(probe, vectors), expected, atol=1e-5)


def multilabel_data(seed: int = 7):
    X, y = clustered(n_classes=3, per_class=20, spread=0.5, seed=seed)
    rng = np.random.default_rng(seed)
    Y = np.zeros((len(y), 3), dtype=int)
    Y[np.arange(len(y)), y] = 1
    Y[:, 2] |= rng.random(len(y)) < 0.25  # 'class02' also appears on other images
    labels = [[f"class{j:02d}" for j in range(3) if Y[i, j]] for i in range(len(y))]
    return X, Y, labels


def test_multilabel_probe_is_one_vs_rest_calibrated_and_cross_validated_per_label():
    X, Y, labels = multilabel_data()
    assert any(len(ls) > 1 for ls in labels)
    probe = fit_probe(X, labels, multilabel=True)
    X64 = X.astype(np.float64)
    reference = OneVsRestClassifier(
        CalibratedClassifierCV(
            reference_estimator(), method="sigmoid", cv=reference_folds(5), ensemble=False
        )
    ).fit(X64, Y)
    np.testing.assert_allclose(numpy_scores(probe, X), reference.predict_proba(X64), atol=1e-5)
    predicted = np.stack(
        [
            cross_val_predict(reference_estimator(), X64, Y[:, j], cv=reference_folds(5))
            for j in range(3)
        ],
        axis=1,
    )
    m = probe.metrics
    assert m["mode"] == "multi-label"
    assert m["accuracy"] == pytest.approx(accuracy_score(Y, predicted), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(f1_score(Y, predicted, average="macro"), abs=1e-12)
    _, recall, _, _ = precision_recall_fscore_support(Y, predicted)
    assert [m["per_class"][f"class{j:02d}"]["recall"] for j in range(3)] == pytest.approx(recall)
    assert m["confusion_matrix"]["per_label"] == multilabel_confusion_matrix(Y, predicted).tolist()


def calibration_error(scores: np.ndarray, truth: np.ndarray) -> float:
    """Expected calibration error of the top label: |accuracy - confidence| over 10 bins."""
    top, right = scores.max(axis=1), scores.argmax(axis=1) == truth
    bins = np.minimum((top * 10).astype(int), 9)
    return sum(
        (bins == b).mean() * abs(right[bins == b].mean() - top[bins == b].mean())
        for b in np.unique(bins)
    )


def test_calibrated_scores_mean_what_they_say_on_unseen_images():
    X, y = clustered(n_classes=3, per_class=300, spread=3.0, seed=8)  # often wrong
    probe = fit_probe(X, names(y), multilabel=False)
    test_X, test_y = clustered(n_classes=3, per_class=1000, spread=3.0, seed=8, noise_seed=80)
    scores = numpy_scores(probe, test_X)
    assert 0.6 < (scores.argmax(axis=1) == test_y).mean() < 0.95
    uncalibrated = reference_estimator().fit(X, y).predict_proba(test_X)
    assert calibration_error(scores, test_y) < 0.03
    assert calibration_error(uncalibrated, test_y) > 2 * calibration_error(scores, test_y)


def test_a_probe_stored_in_sql_scores_exactly_like_the_fitted_one(settings):
    X, y = clustered(n_classes=3, per_class=10, spread=0.5, seed=9)
    fitted = fit_probe(X, names(y), multilabel=False)
    with Library(settings) as lib:
        model = lib.model_row
        with lib.sessions.begin() as session:
            save_probe(session, "synthetic", model.id, fitted, "test")
        with lib.sessions() as session:
            row = latest_probe(session, "synthetic")
            stored = LinearProbe.from_row(row)
            assert row.calibration["method"] == "temperature" and row.metrics["source"] == "test"
    assert stored.classes == ["class00", "class01", "class02"] and not stored.multilabel
    np.testing.assert_array_equal(stored.coef, fitted.coef)
    np.testing.assert_array_equal(stored.scores(X), numpy_scores(fitted, X))


def test_training_the_same_labels_twice_gives_the_same_probe():
    X, y = clustered(n_classes=3, per_class=12, spread=0.7, seed=10)
    a = fit_probe(X, names(y), multilabel=False)
    b = fit_probe(X, names(y), multilabel=False)
    np.testing.assert_array_equal(a.coef, b.coef)
    assert a.metrics["per_class"] == b.metrics["per_class"]

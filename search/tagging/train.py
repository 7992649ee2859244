"""Labels in, stored probe out: load the labelled images' vectors, fit, save with metrics.

The probe, its version and the training labels (as manual tags) commit in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vitrieve.indexer.catalog import vectors_by_ids
from vitrieve.indexer.library import Library
from vitrieve.search.tagging.errors import LabelError, listing
from vitrieve.search.tagging.labels import (
    LabelSet,
    labels_from_csv,
    labels_from_folders,
    labels_from_ids,
)
from vitrieve.search.tagging.store import (
    check_label_ownership,
    check_name,
    replace_manual_tags,
    save_probe,
)


@dataclass(frozen=True)
class TrainResult:
    name: str
    version: int
    probe_id: int
    classes: list[str]
    multilabel: bool
    counts: dict[str, int]
    metrics: dict

    def to_dict(self) -> dict:
        return asdict(self)


def train_probe(
    lib: Library,
    name: str,
    labels: LabelSet,
    *,
    C: float | None = None,
    multilabel: bool | None = None,
) -> TrainResult:
    """Fits NAME's next version on `labels`. multilabel=None: multi-label exactly when some
    image has several labels."""
    from vitrieve.search.tagging.fit import DEFAULT_C, fit_probe  # scikit-learn loads only to train

    name = check_name(name)
    if multilabel is None:
        multilabel = labels.multilabel
    elif not multilabel and labels.multilabel:
        several = [
            str(i) for i, ls in zip(labels.image_ids, labels.labels, strict=True) if len(ls) > 1
        ]
        raise LabelError(
            f"single-label probe, but image id(s) with several labels: {listing(several)}"
        )
    labels.check_trainable(multilabel=multilabel)
    model = lib.model_row
    with lib.sessions() as session:
        check_label_ownership(session, name, labels.classes)  # before minutes of fitting
    vectors = load_vectors(lib, labels.image_ids)
    fitted = fit_probe(vectors, labels.labels, multilabel=multilabel, C=C or DEFAULT_C)
    with lib.sessions.begin() as session:
        row = save_probe(session, name, model.id, fitted, labels.source)
        replace_manual_tags(session, labels.image_ids.tolist(), labels.labels, fitted.classes)
        result = TrainResult(
            row.name,
            row.version,
            row.id,
            list(row.classes),
            row.multilabel,
            labels.counts(),
            dict(row.metrics),
        )
    return result


def train_from_folders(lib: Library, name: str, folder: Path, **options) -> TrainResult:
    with lib.sessions() as session:
        labels = labels_from_folders(session, folder, lib.model_row.id, exclude=[lib.settings.home])
    return train_probe(lib, name, labels, **options)


def train_from_csv(lib: Library, name: str, csv_path: Path, **options) -> TrainResult:
    with lib.sessions() as session:
        labels = labels_from_csv(session, csv_path, lib.model_row.id)
    return train_probe(lib, name, labels, **options)


def train_from_ids(
    lib: Library, name: str, labelled: Mapping[str, Iterable[int]], **options
) -> TrainResult:
    with lib.sessions() as session:
        labels = labels_from_ids(session, labelled, lib.model_row.id)
    return train_probe(lib, name, labels, **options)


def load_vectors(lib: Library, image_ids: np.ndarray) -> np.ndarray:
    """The stored (float16) vectors of the current model, in `image_ids` order."""
    model = lib.model_row
    ids = [int(i) for i in image_ids]
    got, vectors = vectors_by_ids(lib.sessions, model.id, model.dim, ids, searchable=False)
    row = {int(i): n for n, i in enumerate(got)}
    missing = [str(i) for i in ids if i not in row]
    if missing:  # re-ingested between checking the labels and now
        raise LabelError(f"image id(s) lost their vector during training: {listing(missing)}")
    return vectors[[row[i] for i in ids]]

"""Probes and manual tags in SQL. A probe is arrays and JSON, scored with numpy alone.

Nothing is pickled: a stored probe is its coefficient matrix and intercepts (float32 bytes),
Platt parameters and metrics (JSON), so any process, any scikit-learn version (or none) scores
the same. Training NAME again adds version+1 and makes it the active one. Each label belongs
to one probe name, which keeps probe tags unambiguous: (image, label, 'probe') is one score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from vitrieve.search.tagging.errors import (
    LabelError,
    ProbeModelMismatchError,
    ProbeNotFoundError,
    listing,
)
from vitrieve.tables.catalog import EmbeddingModel, utcnow
from vitrieve.tables.tagging import Probe, Tag, TagSource

if TYPE_CHECKING:
    from vitrieve.search.tagging.fit import FittedProbe

_CHUNK = 500


# How a stored probe turns a vector x into scores; d = x @ coef.T + intercept (one per label).
FORMULAS = {
    "temperature": "p = softmax(beta * d)",
    "platt": "p[j] = 1 / (1 + exp(a[j] * d[j] + b[j]))",
}


@dataclass(frozen=True)
class LinearProbe:
    """A stored probe, ready to score vectors: score = calibrate(vectors @ coef.T + intercept)."""

    id: int
    name: str
    version: int
    model_id: int
    classes: list[str]
    multilabel: bool
    coef: np.ndarray  # float32 [C, D]
    intercept: np.ndarray  # float32 [C]
    calibration: dict  # see FORMULAS

    @classmethod
    def from_row(cls, row: Probe) -> LinearProbe:
        n = len(row.classes)
        coef = np.frombuffer(row.coef, dtype=np.float32).reshape(n, -1)
        return cls(
            row.id,
            row.name,
            row.version,
            row.model_id,
            list(row.classes),
            row.multilabel,
            coef,
            np.frombuffer(row.intercept, dtype=np.float32),
            dict(row.calibration),
        )

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """Calibrated probabilities [N, C]: single-label rows sum to 1, multi-label ones don't."""
        decision = np.asarray(vectors, dtype=np.float32) @ self.coef.T + self.intercept
        decision = decision.astype(np.float64)
        method = self.calibration["method"]
        if method == "temperature":
            z = self.calibration["beta"] * decision
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            return p / p.sum(axis=1, keepdims=True)
        if method == "platt":
            a = np.asarray(self.calibration["a"], dtype=np.float64)
            b = np.asarray(self.calibration["b"], dtype=np.float64)
            return np.exp(-np.logaddexp(0.0, a * decision + b))  # 1 / (1 + exp(a d + b))
        raise ValueError(f"probe {self.name!r}: unknown calibration {method!r}")


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 128:
        raise LabelError(f"a probe name must be 1 to 128 characters, got {name!r}")
    return name


def save_probe(
    session: Session, name: str, model_id: int, fitted: FittedProbe, source: str
) -> Probe:
    """Adds NAME's next version (active; older versions stop auto-tagging)."""
    name = check_name(name)
    check_label_ownership(session, name, fitted.classes)
    last = session.scalar(select(func.max(Probe.version)).where(Probe.name == name)) or 0
    session.execute(update(Probe).where(Probe.name == name).values(active=False))
    row = Probe(
        name=name,
        version=last + 1,
        model_id=model_id,
        classes=list(fitted.classes),
        multilabel=fitted.multilabel,
        coef=np.ascontiguousarray(fitted.coef, dtype=np.float32).tobytes(),
        intercept=np.ascontiguousarray(fitted.intercept, dtype=np.float32).tobytes(),
        calibration={**fitted.calibration, "formula": FORMULAS[fitted.calibration["method"]]},
        metrics={**fitted.metrics, "source": source},
        active=True,
    )
    session.add(row)
    session.flush()
    return row


def latest_probes(session: Session) -> list[Probe]:
    """The newest version of every probe name, by name."""
    newest = (
        select(Probe.name, func.max(Probe.version).label("version")).group_by(Probe.name)
    ).subquery()
    return list(
        session.scalars(
            select(Probe)
            .join(newest, (Probe.name == newest.c.name) & (Probe.version == newest.c.version))
            .order_by(Probe.name)
        )
    )


def probe_listing(session: Session, *, all_versions: bool) -> list[tuple[Probe, str | None]]:
    """Probes (the newest version of each, or every version) with the name of the model they
    were trained on (None: a model no longer registered), for `vitrieve tag list`."""
    rows = (
        session.scalars(select(Probe).order_by(Probe.name, Probe.version)).all()
        if all_versions
        else latest_probes(session)
    )
    models = {m.id: m.name for m in session.scalars(select(EmbeddingModel))}
    return [(r, models.get(r.model_id)) for r in rows]


def latest_probe(session: Session, name: str) -> Probe:
    row = session.scalar(
        select(Probe).where(Probe.name == name).order_by(Probe.version.desc()).limit(1)
    )
    if row is None:
        known = [p.name for p in latest_probes(session)]
        hint = f"; known probes: {listing(known)}" if known else "; none trained yet"
        raise ProbeNotFoundError(f"no probe named {name!r}{hint}")
    return row


def probe_ids(session: Session, name: str) -> list[int]:
    return list(session.scalars(select(Probe.id).where(Probe.name == name)))


def check_model(session: Session, row: Probe, current: EmbeddingModel) -> None:
    """Vectors of another model live in another space: the probe's scores would be noise."""
    if row.model_id == current.id:
        return
    trained = session.get(EmbeddingModel, row.model_id)
    raise ProbeModelMismatchError(
        f"probe {row.name!r} was trained on model {_describe(trained)}; the library now uses "
        f"{_describe(current)}: retrain it (vitrieve tag train {row.name} ...)"
    )


def _describe(model: EmbeddingModel | None) -> str:
    return f"{model.name} ({model.weights_hash[:12]})" if model else "(deleted)"


def check_label_ownership(session: Session, name: str, classes: Sequence[str]) -> None:
    taken = [
        (label, row.name)
        for row in latest_probes(session)
        if row.name != name
        for label in classes
        if label in row.classes
    ]
    if taken:
        owners = [f"{label} (probe {owner!r})" for label, owner in taken]
        raise LabelError(
            "each label belongs to one probe; already taken: "
            f"{listing(owners)}; retrain that probe instead or delete it"
        )


def label_owner(session: Session, label: str) -> Probe | None:
    return next((row for row in latest_probes(session) if label in row.classes), None)


def set_active(session: Session, name: str, active: bool) -> Probe:
    """Active = the newest version auto-tags newly ingested images."""
    row = latest_probe(session, name)
    session.execute(update(Probe).where(Probe.name == name).values(active=False))
    row.active = active
    return row


def delete_probe(session: Session, name: str) -> int:
    """Drops every version and its probe tags; manual tags are the user's and stay."""
    ids = probe_ids(session, name)
    if not ids:
        latest_probe(session, name)  # raises with the known names
    session.execute(delete(Tag).where(Tag.probe_id.in_(ids)))
    session.execute(delete(Probe).where(Probe.id.in_(ids)))
    return len(ids)


def replace_manual_tags(
    session: Session,
    image_ids: Sequence[int],
    labels: Sequence[Sequence[str]],
    classes: Sequence[str],
) -> int:
    """The given labels become these images' manual tags among `classes` (score 1.0).

    Training labels are the user's word about an image: they always win over probe scores.
    Replacing (not adding) lets a file moved from cats/ to dogs/ lose its old label.
    """
    ids = [int(i) for i in image_ids]
    for i in range(0, len(ids), _CHUNK):
        session.execute(
            delete(Tag).where(
                Tag.image_id.in_(ids[i : i + _CHUNK]),
                Tag.source == TagSource.MANUAL,
                Tag.label.in_(list(classes)),
            )
        )
    now = utcnow()
    rows = [
        {
            "image_id": image_id,
            "label": label,
            "source": TagSource.MANUAL,
            "score": 1.0,
            "probe_id": None,
            "probe_version": None,
            "updated_at": now,
        }
        for image_id, image_labels in zip(ids, labels, strict=True)
        for label in image_labels
    ]
    if rows:
        session.execute(Tag.__table__.insert(), rows)
    return len(rows)

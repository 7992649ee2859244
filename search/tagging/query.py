"""Tags as answers: which images carry a tag, one image's tags, search within a tag, export.

Effective tags (what every query here means by "the image has tag L"):
- a manual tag always counts (score 1.0);
- a probe tag counts when its score >= min_score AND the image has no manual tag among that
  probe's labels: the user's word about an image replaces the probe's opinion of it, so an
  image labelled 'dogs' by hand never shows up as a probe's 'cats'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.catalog import vectors_by_ids
from vitrieve.indexer.library import Library
from vitrieve.search.query import Query, SearchResult, describe, search
from vitrieve.search.tagging.errors import listing
from vitrieve.search.tagging.store import label_owner, latest_probes
from vitrieve.tables.catalog import Image, ImageStatus
from vitrieve.tables.tagging import Probe, Tag, TagSource

_CHUNK = 500  # ids per IN (...)

DEFAULT_MIN_SCORE = 0.5
EXACT_MAX = 20_000  # tagged sets up to this size are scored exactly from SQL, not by the index


def check_min_score(min_score: float) -> float:
    if not 0.0 <= min_score <= 1.0:
        raise VitrieveError(f"min score must be between 0 and 1, got {min_score}")
    return min_score


def known_labels(session: Session) -> list[str]:
    labels = {label for row in latest_probes(session) for label in row.classes}
    labels |= set(session.scalars(select(Tag.label).where(Tag.source == TagSource.MANUAL)))
    return sorted(labels)


def check_known_label(session: Session, label: str) -> None:
    if (
        label_owner(session, label) is None
        and session.scalar(select(Tag.label).where(Tag.label == label).limit(1)) is None
    ):
        known = known_labels(session)
        raise VitrieveError(
            f"no tag named {label!r}; known tags: {listing(known) if known else 'none yet'}"
        )


def filter_ids_by_tag(
    session: Session, label: str, min_score: float = DEFAULT_MIN_SCORE
) -> np.ndarray:
    """Sorted ids of embedded images whose effective tags include `label`."""
    check_min_score(min_score)
    owner = label_owner(session, label)
    siblings = list(owner.classes) if owner is not None else [label]
    manual = aliased(Tag)
    overruled = exists(
        select(manual.image_id).where(
            manual.image_id == Tag.image_id,
            manual.source == TagSource.MANUAL,
            manual.label.in_(siblings),
        )
    )
    ids = session.scalars(
        select(Tag.image_id)
        .join(Image, Image.id == Tag.image_id)
        .where(
            Image.status == ImageStatus.EMBEDDED,
            Tag.label == label,
            or_(
                Tag.source == TagSource.MANUAL,
                and_(Tag.source == TagSource.PROBE, Tag.score >= min_score, ~overruled),
            ),
        )
        .distinct()
    ).all()
    return np.asarray(sorted(ids), dtype=np.int64)


def search_tagged(
    lib: Library,
    query: Query,
    k: int = 20,
    *,
    tag: str,
    min_score: float = DEFAULT_MIN_SCORE,
    folder: Path | None = None,
) -> list[SearchResult]:
    """Top-k by cosine among images tagged `tag`.

    A small tagged set is scored exactly from SQL; a large one goes through the index, which
    searches among the tagged ids only."""
    if k < 1:
        raise VitrieveError("k must be at least 1")
    with lib.sessions() as session:
        check_known_label(session, tag)
        allowed = filter_ids_by_tag(session, tag, min_score)
    if query.image_id is not None:
        allowed = allowed[allowed != query.image_id]
    if len(allowed) == 0:
        return []
    if len(allowed) <= EXACT_MAX:
        return _exact(lib, query, allowed, k, folder)
    return search(lib, query, k, folder=folder, allowed=allowed)


def _exact(
    lib: Library, query: Query, ids: np.ndarray, k: int, folder: Path | None
) -> list[SearchResult]:
    model = lib.model_row
    all_ids, vectors = vectors_by_ids(lib.sessions, model.id, model.dim, ids, searchable=False)
    if len(all_ids) == 0:
        return []
    all_scores = vectors @ query.vector
    order = np.argsort(-all_scores, kind="stable")
    folder = folder.expanduser().resolve() if folder else None
    out: list[SearchResult] = []
    step = max(4 * k, 100)  # described in slices: a folder filter may reject many
    for start in range(0, len(order), step):
        picked = order[start : start + step]
        out += describe(lib, all_ids[picked].tolist(), all_scores[picked].tolist(), folder)
        if len(out) >= k:
            break
    return out[:k]


# -- one image's tags, and export --------------------------------------------------------------


@dataclass(frozen=True)
class ImageTag:
    label: str
    score: float
    source: str  # 'manual' or 'probe'
    probe: str | None  # the probe's name, for probe tags
    probe_version: int | None
    effective: bool  # counts for filters at the given min score
    overridden: bool  # a probe tag hidden by a manual tag among that probe's labels

    def to_dict(self) -> dict:
        return asdict(self)


def image_tags(
    session: Session, image_id: int, min_score: float = DEFAULT_MIN_SCORE
) -> list[ImageTag]:
    """Every stored tag of one image, best first, each saying whether it counts."""
    check_min_score(min_score)
    rows = session.execute(
        select(Tag.label, Tag.score, Tag.source, Tag.probe_version, Probe.name, Probe.classes)
        .outerjoin(Probe, Probe.id == Tag.probe_id)
        .where(Tag.image_id == image_id)
    ).all()
    manual = {r.label for r in rows if r.source == TagSource.MANUAL}
    out = []
    for r in rows:
        is_manual = r.source == TagSource.MANUAL
        overridden = not is_manual and bool(manual & set(r.classes or ()))
        effective = is_manual or (not overridden and r.score >= min_score)
        out.append(
            ImageTag(
                r.label,
                float(r.score),
                TagSource(r.source).value,
                r.name,
                r.probe_version,
                effective,
                overridden,
            )
        )
    return sorted(out, key=lambda t: (t.source != "manual", -t.score, t.label))


def best_tag_scores(session: Session, label: str, ids: Sequence[int]) -> dict[int, float]:
    """The highest score of `label` on each of `ids` (manual tags score 1.0), for ranking."""
    scores: dict[int, float] = {}
    for i in range(0, len(ids), _CHUNK):
        for image_id, score in session.execute(
            select(Tag.image_id, func.max(Tag.score))
            .where(Tag.label == label, Tag.image_id.in_(ids[i : i + _CHUNK]))
            .group_by(Tag.image_id)
        ):
            scores[image_id] = float(score)
    return scores

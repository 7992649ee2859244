"""Tagging facts for the UI: the probes with their metrics, the known tags, and the collection
browsed by tag, best score first. Effective tags mean what search.tagging.query says they mean
(manual tags always, probe tags above the minimum score unless a manual tag overrules them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vitrieve.indexer.library import Library
from vitrieve.search.tagging.query import (
    DEFAULT_MIN_SCORE,
    best_tag_scores,
    filter_ids_by_tag,
    known_labels,
)
from vitrieve.search.tagging.store import latest_probes
from vitrieve.ui.views.grid import GridItem, grid_items


@dataclass(frozen=True, slots=True)
class ProbeInfo:
    name: str
    version: int
    classes: list[str]
    multilabel: bool
    active: bool
    created_at: datetime
    metrics: dict  # cross-validated, as stored at training time (see search.tagging.fit)
    current_model: bool  # False: trained on other weights; retrain before applying


def probe_list(lib: Library) -> list[ProbeInfo]:
    model_id = lib.model_row.id
    with lib.sessions() as session:
        return [
            ProbeInfo(
                p.name,
                p.version,
                list(p.classes),
                bool(p.multilabel),
                bool(p.active),
                p.created_at,
                dict(p.metrics or {}),
                p.model_id == model_id,
            )
            for p in latest_probes(session)
        ]


def tag_labels(lib: Library) -> list[str]:
    with lib.sessions() as session:
        return known_labels(session)


def tagged_ids(lib: Library, label: str, min_score: float = DEFAULT_MIN_SCORE) -> set[int]:
    with lib.sessions() as session:
        return set(filter_ids_by_tag(session, label, min_score).tolist())


def tagged_grid(
    lib: Library,
    label: str,
    min_score: float = DEFAULT_MIN_SCORE,
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[GridItem], int]:
    """One page of the images tagged `label`, highest score first (manual tags score 1.0)."""
    with lib.sessions() as session:
        ids = filter_ids_by_tag(session, label, min_score).tolist()
        scores = best_tag_scores(session, label, ids)
    ranked = sorted(ids, key=lambda i: (-scores.get(i, 0.0), i))
    page = ranked[offset : offset + limit]
    return grid_items(lib, page, {i: float(scores.get(i, 0.0)) for i in page}), len(ranked)

"""From groups of image ids to described duplicate groups: facts (filled in where unknown),
keepers, similarities, and bursts split off as series. The one call find.py makes per chunk."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.backfill import fill_missing_facts
from vitrieve.search.duplicates.groups import DupGroup, ImageFacts, image_facts
from vitrieve.search.duplicates.prefer import KeeperRule
from vitrieve.search.duplicates.reference import ReferenceFolders
from vitrieve.search.duplicates.series import split_series
from vitrieve.search.duplicates.vectors import VectorSet


def describe_groups(
    lib: Library,
    groups: Sequence[np.ndarray | Sequence[int]],
    keepers: set[int],
    vectors: VectorSet | None,
    *,
    series_seconds: float | None = None,
    threshold: float | None = None,
    ignored: frozenset[int] = frozenset(),
    facts: dict[int, ImageFacts] | None = None,
    rule: KeeperRule | None = None,
) -> list[DupGroup]:
    """``series_seconds`` None: the library's setting (dup_series_seconds); 0: no series.
    ``threshold`` (None: exact duplicates only) and ``ignored`` (pair_keys of "not duplicates")
    keep each series centred on its own keeper (series.split_series). ``facts``: those the
    caller loaded already (after fill_missing_facts), covering every id of ``groups``.
    ``rule``: the library's (its preferences and reference folders) when None; images in a
    reference folder are keepers like ``keepers``."""
    if not groups:
        return []
    if facts is None:
        ids = np.concatenate([np.asarray(g, np.int64) for g in groups])
        fill_missing_facts(lib, ids)
        with lib.sessions() as session:
            facts = image_facts(session, ids)
    if rule is None:
        with lib.sessions() as session:
            folders = ReferenceFolders.load(session)
        rule = KeeperRule.of(lib.settings, folders.among({i: f.image for i, f in facts.items()}))
    keepers = keepers | set(rule.reference)
    seconds = lib.settings.dup_series_seconds if series_seconds is None else series_seconds
    out: list[DupGroup] = []
    for g in groups:
        out += split_series(
            [int(i) for i in g],
            facts,
            keepers,
            vectors,
            seconds,
            threshold=threshold,
            ignored=ignored,
            rule=rule,
        )
    return out

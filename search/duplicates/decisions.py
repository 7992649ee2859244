"""The user's duplicate decisions: "not duplicates" pairs and "keep these" images.

Both are keyed by image id, which survives renames, moves and re-ingests (reconcile keeps the
row), so a decision holds on every later run until it is taken back.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any, cast

import numpy as np
from sqlalchemy import CursorResult, delete, select, tuple_
from sqlalchemy.orm import Session

from vitrieve.indexer.errors import VitrieveError
from vitrieve.search.duplicates.graph import pair_keys
from vitrieve.tables.catalog import Image
from vitrieve.tables.duplicates import DupIgnore, DupKeeper

_CHUNK = 400  # rows per IN (...)


def checked_ids(session: Session, ids: Sequence[int]) -> list[int]:
    """The distinct ids, sorted; an id that is not in the catalog is a clear error."""
    wanted = sorted({int(i) for i in ids})
    found: set[int] = set()
    for i in range(0, len(wanted), _CHUNK):
        found.update(session.scalars(select(Image.id).where(Image.id.in_(wanted[i : i + _CHUNK]))))
    unknown = [i for i in wanted if i not in found]
    if unknown:
        raise VitrieveError(f"no image with id {', '.join(map(str, unknown))} in the catalog")
    return wanted


def ignore_pairs(session: Session, ids: Sequence[int]) -> int:
    """Marks every pair of ``ids`` as not duplicates; returns how many pairs were new."""
    ids = checked_ids(session, ids)
    if len(ids) < 2:
        raise VitrieveError("give at least two image ids: a decision is about a pair")
    pairs = list(combinations(ids, 2))  # ids sorted, so a < b
    new = 0
    for i in range(0, len(pairs), _CHUNK):
        part = pairs[i : i + _CHUNK]
        have = set(
            session.execute(
                select(DupIgnore.image_a, DupIgnore.image_b).where(
                    tuple_(DupIgnore.image_a, DupIgnore.image_b).in_(part)
                )
            ).all()
        )
        rows = [{"image_a": a, "image_b": b} for a, b in part if (a, b) not in have]
        if rows:
            session.execute(DupIgnore.__table__.insert(), rows)
            new += len(rows)
    return new


def unignore_pairs(session: Session, ids: Sequence[int]) -> int:
    """Takes back "not duplicates" for every pair of ``ids``; returns how many were removed."""
    ids = checked_ids(session, ids)
    pairs = list(combinations(ids, 2))
    removed = 0
    for i in range(0, len(pairs), _CHUNK):
        result = session.execute(
            delete(DupIgnore).where(
                tuple_(DupIgnore.image_a, DupIgnore.image_b).in_(pairs[i : i + _CHUNK])
            )
        )
        # Session.execute is typed to return Result; a DELETE gives a CursorResult
        removed += cast("CursorResult[Any]", result).rowcount or 0
    return removed


def set_keepers(session: Session, ids: Sequence[int], *, keep: bool = True) -> int:
    """Marks (or unmarks) images as ones to keep; returns how many rows changed."""
    ids = checked_ids(session, ids)
    have = set(session.scalars(select(DupKeeper.image_id).where(DupKeeper.image_id.in_(ids))))
    if keep:
        rows = [{"image_id": i} for i in ids if i not in have]
        if rows:
            session.execute(DupKeeper.__table__.insert(), rows)
        return len(rows)
    session.execute(delete(DupKeeper).where(DupKeeper.image_id.in_(ids)))
    return len(have)


def ignored_keys(session: Session) -> np.ndarray:
    """pair_keys of every "not duplicates" pair, sorted."""
    rows = session.execute(select(DupIgnore.image_a, DupIgnore.image_b)).all()
    if not rows:
        return np.empty(0, np.int64)
    arr = np.asarray(rows, dtype=np.int64)
    return np.sort(pair_keys(arr[:, 0], arr[:, 1]))


def ignored_ids(keys: np.ndarray) -> set[int]:
    """The image ids named by any "not duplicates" decision."""
    return set((keys >> 32).tolist()) | set((keys & 0xFFFFFFFF).tolist())


def keeper_ids(session: Session) -> set[int]:
    return set(session.scalars(select(DupKeeper.image_id)))

"""The user's duplicate decisions: "not duplicates" pairs, whole groups marked "not
duplicates", and "keep these" images.

All are keyed by image id, which survives renames, moves and re-ingests (reconcile keeps the
row), so a decision holds on every later run until it is taken back. A group-wide decision is
one row with its member set (not its pairs), so `vitrieve dups decisions` lists it as one and it
can be taken back as one after the group it named has dissolved.

Each decision has an id that names it without a table lookup: `pair:A-B`, `group:N` (the set's
row id) and `keep:I`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import CursorResult, delete, select, tuple_
from sqlalchemy.orm import Session

from vitrieve.core.errors import VitrieveError
from vitrieve.search.duplicates.graph import pair_keys
from vitrieve.tables.catalog import Image, Root
from vitrieve.tables.duplicates import DupIgnore, DupIgnoreSet, DupIgnoreSetMember, DupKeeper

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


def ignore_group(session: Session, group: int, ids: Sequence[int]) -> int | None:
    """Records the whole group as "not duplicates", as one decision; returns its row id, or None
    when the same members are already recorded so."""
    ids = checked_ids(session, ids)
    if len(ids) < 2:
        raise VitrieveError("a group decision needs at least two images")
    for members in _sets(session).values():
        if members == ids:
            return None
    row = DupIgnoreSet(group_id=int(group))
    session.add(row)
    session.flush()
    session.execute(
        DupIgnoreSetMember.__table__.insert(), [{"set_id": row.id, "image_id": i} for i in ids]
    )
    return row.id


def remove_group_ignores(session: Session, group: int) -> int:
    """Takes back the group-wide decisions recorded for group ``group`` (found by the id it had
    then, so it works after the group dissolved); returns how many were removed."""
    found = list(session.scalars(select(DupIgnoreSet.id).where(DupIgnoreSet.group_id == group)))
    if found:
        session.execute(delete(DupIgnoreSet).where(DupIgnoreSet.id.in_(found)))
    return len(found)


def _sets(session: Session) -> dict[int, list[int]]:
    """Group-wide decisions: row id -> sorted member ids."""
    sets: dict[int, list[int]] = {}
    for set_id, image_id in session.execute(
        select(DupIgnoreSetMember.set_id, DupIgnoreSetMember.image_id).order_by(
            DupIgnoreSetMember.set_id, DupIgnoreSetMember.image_id
        )
    ):
        sets.setdefault(set_id, []).append(image_id)
    return sets


def ignored_keys(session: Session) -> np.ndarray:
    """pair_keys of every "not duplicates" pair (stored pairs and pairs of group decisions),
    sorted and distinct."""
    rows = [tuple(r) for r in session.execute(select(DupIgnore.image_a, DupIgnore.image_b))]
    for members in _sets(session).values():
        rows += combinations(members, 2)  # members sorted, so a < b
    if not rows:
        return np.empty(0, np.int64)
    arr = np.asarray(rows, dtype=np.int64)
    return np.unique(pair_keys(arr[:, 0], arr[:, 1]))


def ignored_ids(keys: np.ndarray) -> set[int]:
    """The image ids named by any "not duplicates" decision."""
    return set((keys >> 32).tolist()) | set((keys & 0xFFFFFFFF).tolist())


def keeper_ids(session: Session) -> set[int]:
    return set(session.scalars(select(DupKeeper.image_id)))


@dataclass(frozen=True, slots=True)
class Decision:
    id: str  # "pair:A-B", "group:N" or "keep:I": what `remove_decision` takes
    kind: str  # "not_duplicates" (a pair), "not_duplicates_group", "keeper"
    images: tuple[int, ...]
    paths: tuple[str, ...]  # as the catalog has them now, in `images` order
    group: int | None  # for a group decision: the group's id when it was recorded
    created_at: datetime | None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "images": list(self.images),
            "paths": list(self.paths),
            "group": self.group,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def list_decisions(session: Session) -> list[Decision]:
    """Every recorded decision: group decisions, pairs, then keepers; oldest first in each."""
    sets = _sets(session)
    heads = {r.id: r for r in session.scalars(select(DupIgnoreSet).order_by(DupIgnoreSet.id))}
    pairs = session.execute(
        select(DupIgnore.image_a, DupIgnore.image_b, DupIgnore.created_at).order_by(
            DupIgnore.created_at, DupIgnore.image_a, DupIgnore.image_b
        )
    ).all()
    keepers = session.execute(
        select(DupKeeper.image_id, DupKeeper.created_at).order_by(
            DupKeeper.created_at, DupKeeper.image_id
        )
    ).all()
    paths = _paths(
        session,
        {i for m in sets.values() for i in m}
        | {i for a, b, _ in pairs for i in (a, b)}
        | {k for k, _ in keepers},
    )
    found = [
        Decision(
            f"group:{sid}",
            "not_duplicates_group",
            tuple(sets.get(sid, [])),
            tuple(paths.get(i, "") for i in sets.get(sid, [])),
            head.group_id,
            head.created_at,
        )
        for sid, head in heads.items()
    ]
    found += [
        Decision(f"pair:{a}-{b}", "not_duplicates", (a, b), (paths[a], paths[b]), None, t)
        for a, b, t in pairs
    ]
    found += [Decision(f"keep:{k}", "keeper", (k,), (paths[k],), None, t) for k, t in keepers]
    return found


def remove_decision(session: Session, decision_id: str) -> Decision:
    """Takes back one decision by its id (as `list_decisions` names it); returns it."""
    wanted = {d.id: d for d in list_decisions(session)}
    decision = wanted.get(decision_id.strip())
    if decision is None:
        raise VitrieveError(
            f"no decision {decision_id!r}: ids look like pair:12-34, group:3 or keep:12 "
            "(see `vitrieve dups decisions`)"
        )
    kind, _, key = decision.id.partition(":")
    if kind == "group":
        session.execute(delete(DupIgnoreSet).where(DupIgnoreSet.id == int(key)))
    elif kind == "pair":
        a, b = decision.images
        session.execute(delete(DupIgnore).where(DupIgnore.image_a == a, DupIgnore.image_b == b))
    else:
        session.execute(delete(DupKeeper).where(DupKeeper.image_id == decision.images[0]))
    return decision


def _paths(session: Session, ids: set[int]) -> dict[int, str]:
    wanted, found = sorted(ids), {}
    for i in range(0, len(wanted), _CHUNK):
        for image_id, root, rel in session.execute(
            select(Image.id, Root.path, Image.rel_path)
            .join(Root)
            .where(Image.id.in_(wanted[i : i + _CHUNK]))
        ):
            found[image_id] = str(Path(root) / rel)
    return found

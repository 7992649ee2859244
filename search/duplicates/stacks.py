"""Stacks: a burst kept whole instead of cleaned up (docs/DUPLICATES.md#stacks).

A series group (series.py) holds several shots of one moment; quarantining all but the best is
not what everyone wants. Keeping it "as a stack" moves nothing: the stack and its cover (the
group's keeper) are recorded, search results and grids show the cover once with a count, and
`find_duplicates` no longer lists a group whose members all sit in one stack. A stack that a
new group overlaps (a shot added to the burst later) is replaced by the larger one, so an image
is always in at most one stack; undo takes a stack back whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vitrieve.core.errors import VitrieveError
from vitrieve.search.duplicates.decisions import checked_ids
from vitrieve.tables.stacks import Stack, StackMember

_CHUNK = 400  # ids per IN (...)


@dataclass(frozen=True, slots=True)
class StackInfo:
    id: int
    cover: int  # the image shown for the whole stack
    members: tuple[int, ...]  # the cover first, then by id
    group: int | None  # the duplicate group it was made from
    created_at: datetime | None = None

    @property
    def hidden(self) -> tuple[int, ...]:
        """Members that grids and search results leave out (shown through the cover)."""
        return self.members[1:]

    def to_dict(self) -> dict:
        return {
            "stack": self.id,
            "cover": self.cover,
            "members": list(self.members),
            "group": self.group,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def create_stack(
    session: Session, cover: int, ids: Sequence[int], group: int | None = None
) -> tuple[StackInfo, list[int]]:
    """Records ``ids`` (the cover among them) as one stack; returns it and the ids of the
    stacks it replaced (those sharing a member with it, whose members it takes in)."""
    wanted = set(checked_ids(session, [cover, *ids]))
    old = sorted(
        set(
            session.scalars(
                select(StackMember.stack_id).where(StackMember.image_id.in_(sorted(wanted)))
            )
        )
    )
    if old:
        wanted |= set(
            session.scalars(select(StackMember.image_id).where(StackMember.stack_id.in_(old)))
        )
        session.execute(delete(StackMember).where(StackMember.stack_id.in_(old)))
        session.execute(delete(Stack).where(Stack.id.in_(old)))
    if len(wanted) < 2:
        raise VitrieveError("a stack needs at least two images")
    row = Stack(cover_id=cover, group_id=group)
    session.add(row)
    session.flush()
    session.add_all(StackMember(stack_id=row.id, image_id=i) for i in sorted(wanted))
    session.flush()
    return _info(row, wanted), old


def list_stacks(session: Session) -> list[StackInfo]:
    """Every stack, oldest first."""
    rows = session.scalars(select(Stack).order_by(Stack.id)).all()
    members: dict[int, set[int]] = {}
    for stack_id, image_id in session.execute(select(StackMember.stack_id, StackMember.image_id)):
        members.setdefault(stack_id, set()).add(image_id)
    return [_info(r, members.get(r.id, set())) for r in rows if members.get(r.id)]


def stack_map(session: Session) -> dict[int, StackInfo]:
    """Every stacked image's stack, keyed by image id."""
    return {m: s for s in list_stacks(session) for m in s.members}


def get_stack(session: Session, stack_id: int) -> StackInfo:
    row = session.get(Stack, stack_id)
    ids = set(session.scalars(select(StackMember.image_id).where(StackMember.stack_id == stack_id)))
    if row is None or not ids:
        raise VitrieveError(f"no stack {stack_id} (see `vitrieve dups stacks`)")
    return _info(row, ids)


def remove_stack(session: Session, stack_id: int) -> StackInfo:
    """Undoes a stack: its members are shown one by one again. Nothing on disk changes."""
    info = get_stack(session, stack_id)
    session.execute(delete(StackMember).where(StackMember.stack_id == stack_id))
    session.execute(delete(Stack).where(Stack.id == stack_id))
    return info


def stacks_of(session: Session, ids: Iterable[int]) -> dict[int, StackInfo]:
    """The stack of each of ``ids`` that is in one (keyed by image id)."""
    wanted = sorted({int(i) for i in ids})
    stack_ids: set[int] = set()
    for i in range(0, len(wanted), _CHUNK):
        stack_ids.update(
            session.scalars(
                select(StackMember.stack_id).where(StackMember.image_id.in_(wanted[i : i + _CHUNK]))
            )
        )
    if not stack_ids:
        return {}
    rows = session.scalars(select(Stack).where(Stack.id.in_(sorted(stack_ids)))).all()
    members: dict[int, set[int]] = {}
    for stack_id, image_id in session.execute(
        select(StackMember.stack_id, StackMember.image_id).where(
            StackMember.stack_id.in_(sorted(stack_ids))
        )
    ):
        members.setdefault(stack_id, set()).add(image_id)
    infos = [_info(r, members[r.id]) for r in rows if r.id in members]
    return {m: s for s in infos for m in s.members}


def hidden_ids_query():
    """SELECT of every stacked image that is not its stack's cover (for grids' WHERE)."""
    return (
        select(StackMember.image_id)
        .join(Stack, Stack.id == StackMember.stack_id)
        .where((Stack.cover_id.is_(None)) | (Stack.cover_id != StackMember.image_id))
    )


def collapse(ranked: Sequence[int], stacks: dict[int, StackInfo]) -> list[tuple[int, int]]:
    """Ranked ids with each stack shown once, by its cover, where its best-ranked member was;
    returns (id shown, the id that put it there)."""
    seen: set[int] = set()
    out = []
    for image_id in ranked:
        stack = stacks.get(image_id)
        shown = image_id if stack is None else stack.cover
        if stack is not None and stack.id in seen:
            continue
        if stack is not None:
            seen.add(stack.id)
        out.append((shown, image_id))
    return out


def fully_stacked(ids: Sequence[int], stacks: dict[int, StackInfo]) -> bool:
    """Whether every one of ``ids`` is in one and the same stack (a group already decided)."""
    found = {stacks[i].id if i in stacks else None for i in ids}
    return len(found) == 1 and None not in found


def _info(row: Stack, ids: set[int]) -> StackInfo:
    cover = row.cover_id if row.cover_id in ids else min(ids)
    assert cover is not None
    members = (cover, *sorted(ids - {cover}))
    return StackInfo(row.id, cover, members, row.group_id, row.created_at)

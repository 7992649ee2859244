"""The review of duplicate groups one at a time, computed without Streamlit: where the review
stands (a group is named by its keeper, so the place survives a decision that removes groups
before it), the progress line, each photo's facts in plain words, and the groups as they are
after a decision, patched in place.

Why patch instead of recomputing: finding the groups of a 10k-image library takes seconds, a
decision must show the next group at once. A keeper choice or a "not duplicates" changes only
the group it was made in, so the review's copy of the groups is patched the same way the
catalog was; the page recomputes everything from the catalog on its next full run (a threshold
change, another page), and a quarantine, which moves files, always recomputes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath

from vitrieve.search.duplicates.groups import DupGroup, DupMember
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.views.dups import MATCH_WORDS, human_size, keeper_of, ordered_members

KEYS = (  # (key, what it does): the help overlay and docs/UI.md list these
    ("→ / ←", "next / previous group"),
    ("1–9", "keep photo 1–9 of the group, then next"),
    ("A", "accept the suggested keeper, then next"),
    ("N", "not duplicates: these are different pictures"),
    ("Q", "quarantine this group (a dry run first; M moves, Esc cancels)"),
    ("U", "undo the last decision or move"),
    ("H", "show or hide this help"),
)


@dataclass(frozen=True, slots=True)
class Place:
    """Where the review stands: the keeper naming the current group, and its position as
    the fallback when that group is gone (decided, quarantined)."""

    keeper: int | None = None
    index: int = 0


def group_key(group: DupGroup) -> int:
    """A group's identity in the review: its keeper's image id."""
    return keeper_of(group).image_id


def locate(groups: Sequence[DupGroup], place: Place) -> int:
    """The index of the group the review shows: the one named by the place's keeper, else
    the group now at the place's position (the next one, after a group was removed)."""
    if not groups:
        return 0
    for i, g in enumerate(groups):
        if place.keeper is not None and group_key(g) == place.keeper:
            return i
    return min(max(0, place.index), len(groups) - 1)


def place_at(groups: Sequence[DupGroup], index: int) -> Place:
    if not groups:
        return Place()
    index = min(max(0, index), len(groups) - 1)
    return Place(group_key(groups[index]), index)


def progress_text(groups: Sequence[DupGroup], index: int) -> str:
    """ "group 37 of 512 · 1.2 GB reclaimable left": left counts this group and the ones after
    it, what the review has still to decide."""
    left = sum(g.reclaimable for g in groups[index:])
    return f"group {index + 1} of {len(groups)} · {human_size(left)} reclaimable left"


def file_name(path: str) -> str:
    """The file name, printable (display_path: a name that is not UTF-8 shows escaped)."""
    return display_path(PurePath(path).name)


def plain_facts(m: DupMember) -> list[str]:
    """What matters when choosing between copies, one short line each: size, resolution and
    format; capture date; camera. Sharpness and GPS are left to the details."""
    first = [human_size(m.size)]
    if m.width and m.height:
        first.append(f"{m.width}×{m.height}")
    if m.format:
        first.append(m.format)
    lines = [" · ".join(first)]
    if m.captured_at is not None:
        lines.append(m.captured_at.strftime("%Y-%m-%d %H:%M"))
    if m.photo.camera:
        lines.append(m.photo.camera)
    return lines


def match_words(m: DupMember) -> str:
    return MATCH_WORDS.get(m.match, m.match)


def with_keeper(group: DupGroup, image_id: int) -> DupGroup:
    """The group as it is once the user chose `image_id` as its only keeper."""
    chosen = next(m for m in group.members if m.image_id == image_id)

    def changed(m: DupMember) -> DupMember:
        if m.image_id == image_id:
            return replace(m, keeper=True, match="keeper")
        if m.keeper:  # the old keeper is to the chosen one what the chosen one was to it
            return replace(m, keeper=False, match=chosen.match, similarity=chosen.similarity)
        return m

    members = [changed(m) for m in group.members]
    members.sort(key=lambda m: not m.keeper)
    patched = replace(group, members=tuple(members), keeper_reason="your choice")
    return replace(patched, members=tuple(ordered_members(patched)))


def without_member(group: DupGroup, image_id: int) -> DupGroup | None:
    """The group without one member (not a duplicate of its keeper); None when only the
    keeper would be left."""
    members = tuple(m for m in group.members if m.image_id != image_id)
    return replace(group, members=members) if len(members) > 1 else None


def patched(groups: Sequence[DupGroup], index: int, group: DupGroup | None) -> list[DupGroup]:
    """`groups` with the one at `index` replaced by `group`, or dropped when None."""
    out = list(groups)
    if group is None:
        del out[index]
    else:
        out[index] = group
    return out


def names_text(group: DupGroup) -> str:
    """A group in words for a message: "coffee.jpg and 2 other photos"."""
    first = file_name(keeper_of(group).path)
    rest = len(group.members) - 1
    return f"{first} and {rest} other photo{'s' if rest != 1 else ''}"

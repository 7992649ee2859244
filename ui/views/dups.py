"""What the Duplicates page shows, computed without Streamlit so it can be tested alone: the
order and pages of a group's members, the part of a group that is exact copies, the space a
clean-up would reclaim, and the rows of a quarantine preview.

Why members are ordered by similarity to the keeper (keepers first): the user reviews a group
to find the member that is *not* a duplicate, and that one is the least similar; the page ends
where doubt is highest. Exact copies (similarity 1.0) come right after the keepers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from vitrieve.search.duplicates.groups import DupGroup, DupMember
from vitrieve.tables.fsnames import display_path

EXACT_MATCHES = frozenset({"bytes", "pixels"})  # DupMember.match of a redundant exact copy
MATCH_WORDS = {
    "keeper": "keeper",
    "bytes": "identical bytes",
    "pixels": "same pixels",
    "near": "near duplicate",
    "pair": "JPEG/HEIF of its RAW",  # search/duplicates/raw_pairs.py: moves with the RAW
}
KIND_WORDS = {"copies": "copies", "series": "series (shots seconds apart)"}


def ordered_members(group: DupGroup) -> list[DupMember]:
    """Keepers first (in the group's order), then the others by similarity to the keeper,
    highest first; a member without a vector (similarity None) last."""
    others = sorted(
        group.others,
        key=lambda m: (m.similarity is None, -(m.similarity or 0.0)),
    )
    return group.keepers + others


def page_count(items: int, per_page: int) -> int:
    return max(1, -(-items // per_page))


def member_page(group: DupGroup, page: int, per_page: int) -> list[DupMember]:
    """Members on page `page` (1-based, clamped to the pages there are) of `ordered_members`."""
    members = ordered_members(group)
    page = min(max(1, page), page_count(len(members), per_page))
    return members[(page - 1) * per_page : page * per_page]


def keeper_of(group: DupGroup) -> DupMember:
    """The keeper every member's similarity is measured against (the group's first keeper)."""
    return group.keepers[0] if group.keepers else group.members[0]


def exact_part(group: DupGroup) -> DupGroup | None:
    """The group reduced to its keepers and their exact copies (same bytes or same pixels), or
    None when it has no exact copy: quarantining it moves no near duplicate."""
    exact = [m for m in group.others if m.match in EXACT_MATCHES]
    if not exact:
        return None
    return replace(group, members=tuple(group.keepers + exact))


def exact_parts(groups: Iterable[DupGroup]) -> list[DupGroup]:
    return [p for p in map(exact_part, groups) if p is not None]


@dataclass(frozen=True, slots=True)
class Totals:
    groups: int
    members: int
    redundant: int  # non-keepers: files a clean-up of every group would move
    reclaimable: int  # their bytes
    exact_files: int  # exact copies only ("resolve all exact duplicates")
    exact_reclaimable: int


def totals(groups: Sequence[DupGroup]) -> Totals:
    exact = exact_parts(groups)
    return Totals(
        groups=len(groups),
        members=sum(len(g.members) for g in groups),
        redundant=sum(len(g.others) for g in groups),
        reclaimable=sum(g.reclaimable for g in groups),
        exact_files=sum(len(g.others) for g in exact),
        exact_reclaimable=sum(g.reclaimable for g in exact),
    )


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def similarity_text(m: DupMember) -> str:
    if m.keeper:
        return "keeper"
    if m.similarity is None:
        return "—"
    return "identical" if m.similarity == 1.0 else f"{m.similarity:.4f}"


def facts_text(m: DupMember) -> str:
    """The facts the keeper rule weighs, in one line: resolution, format, size, camera, GPS,
    sharpness (a burst's best shot is the sharpest)."""
    parts = []
    if m.width and m.height:
        parts.append(f"{m.width}×{m.height}")
    if m.format:
        parts.append(m.format)
    parts.append(human_size(m.size))
    if m.captured_at is not None:
        parts.append(m.captured_at.strftime("%Y-%m-%d %H:%M:%S"))
    if m.photo.camera:
        parts.append(m.photo.camera)
    if m.photo.has_gps:
        parts.append("GPS")
    if m.photo.sharpness is not None:
        parts.append(f"sharpness {m.photo.sharpness:.1f}")
    return " · ".join(parts)


def group_heading(group: DupGroup) -> str:
    kind = KIND_WORDS.get(group.kind, group.kind)
    exact = "identical files or pixels" if group.exact else "near duplicates"
    return (
        f"**Group {group.group}** · {len(group.members)} images · {kind} · {exact} · "
        f"{human_size(group.reclaimable)} reclaimable"
    )


# Fields of PlannedMove.to_dict() the preview shows in its own columns (or not at all).
_SHOWN = {"image_id", "group", "src", "dst", "size", "keepers", "keeper_id"}


def plan_rows(plan: Iterable, groups: Sequence[DupGroup]) -> list[dict]:
    """One row per planned move: its group, keeper, similarity to that keeper and why it is
    moved, from the groups the plan was made of; any further field the plan itself reports
    (search/duplicates: metadata the keeper lacks, what it inherits) is added as a column of
    its own, named in words, paths made printable."""
    members = {(g.group, m.image_id): (g, m) for g in groups for m in g.members}
    rows = []
    for move in plan:
        g, m = members.get((move.group, move.image_id), (None, None))
        # the short columns first: long paths would push them out of view
        row: dict = {"group": move.group}
        row["reason"] = MATCH_WORDS.get(m.match, m.match) if m is not None else ""
        row["similarity"] = m.similarity if m is not None else None
        row["size"] = human_size(move.size)
        row["from"] = display_path(move.src)
        row["keeper"] = display_path(keeper_of(g).path) if g is not None else ""
        row["to"] = display_path(move.dst)
        for key, value in move.to_dict().items():
            column = key.replace("_", " ")
            if key in _SHOWN or key in row or column in row:
                continue
            row[column] = _printable(key, value)
        rows.append(row)
    return rows


def _printable(key: str, value: object) -> object:
    """A plan field as one cell: paths through display_path, lists joined, a dict as its
    non-empty entries."""
    if isinstance(value, Path) or (isinstance(value, str) and key.endswith(("path", "keeper"))):
        return display_path(value)
    if isinstance(value, (list, tuple, set)):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        parts = [f"{k}: {_printable(k, v)}" for k, v in value.items() if v not in (None, [], "")]
        return "; ".join(parts)
    return value


def plan_summary(plan: Iterable) -> tuple[int, int, int]:
    """(files, bytes, groups) of a plan."""
    moves = list(plan)
    return len(moves), sum(m.size for m in moves), len({m.group for m in moves})


def metadata_notes(plan: Iterable) -> list[str]:
    """One line per planned move whose file carries metadata its keeper lacks (when the plan
    reports it): what the clean-up would otherwise lose track of, and what the keeper inherits
    in the catalog (capture time and tags; camera and GPS stay in the quarantined file)."""
    notes = []
    for move in plan:
        lacks = tuple(getattr(move, "metadata_keeper_lacks", ()) or ())
        if lacks:
            words = ", ".join(_LACKS_WORDS.get(f, f) for f in lacks)
            notes.append(f"{display_path(move.src)} has {words} that its keeper lacks")
    return notes


_LACKS_WORDS = {
    "captured_at": "a capture time",
    "camera": "camera EXIF",
    "gps": "GPS",
    "tags": "tags",
}

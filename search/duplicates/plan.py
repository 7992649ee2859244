"""A quarantine plan that explains itself: for every move, its group, the keeper it duplicates,
how close it is to that keeper and why it counts as a copy, before anything is touched.

A plan is the non-keepers of the groups given, narrowed by the caller's filters:
- ``groups_only``: only these groups (ids as `vitrieve dups` shows them);
- ``exact_only``: only copies with the keeper's bytes or decoded pixels, whatever the groups;
- ``min_similarity``: only copies whose similarity *to their keeper* is at least this. The
  filter is per move, not per group: groups are keeper-centred, so each copy's similarity to
  the keeper is what says how sure the move is, and a doubtful member is left in place (and
  listed in `left`) without holding back its group's certain copies.
- images in a reference folder (search/duplicates/reference.py) are never moved, whatever
  the groups say (they were found before the folder was marked, say);
- ``threshold``: the similarity the groups were found at. A member below it to its keeper
  (reached through a chain of other members) is never moved, whatever built the groups;
- the JPEG/HEIF half of a RAW+JPEG pair (match "pair", search/duplicates/raw_pairs.py) moves
  exactly when its RAW does, right after it: a pair is never split.

Each move also says what metadata the copy has that its keeper lacks (search/duplicates/
inherit.py gives the keeper its capture time and manual tags when the move is applied).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Row, select

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.catalog import refuse_data_dir
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.groups import DupGroup, DupMember
from vitrieve.search.duplicates.inherit import manual_tags
from vitrieve.search.duplicates.reference import ReferenceFolders
from vitrieve.tables.catalog import Image, Root

EXACT_MATCHES = ("bytes", "pixels")
PAIR = "pair"  # raw_pairs.PAIR_MATCH: the JPEG/HEIF shot with a RAW moves exactly when it does
REASON_WORDS = {
    "bytes": "exact bytes",
    "pixels": "same pixels",
    "near": "near",
    "chosen": "chosen by you in Search",  # search/duplicates/chosen.py
    PAIR: "RAW+JPEG",
}


@dataclass(frozen=True, slots=True)
class PlannedMove:
    image_id: int
    group: int
    src: Path
    dst: Path
    size: int
    mtime_ns: int
    # The group's keepers when planned, best first: a move is skipped if none of them is left
    # in place, and the first one left inherits the copy's metadata.
    keepers: tuple[int, ...] = ()
    keeper_path: str | None = None
    similarity: float | None = None  # to the keeper; 1.0 for identical pixels
    reason: str = "near"  # "bytes", "pixels" or "near" (DupMember.match)
    metadata_keeper_lacks: tuple[str, ...] = ()  # of "captured_at", "camera", "gps", "tags"
    tags_keeper_lacks: tuple[str, ...] = ()  # manual tag labels the keeper would inherit
    captured_at: datetime | None = None  # the copy's; the keeper inherits it if it has none

    def to_dict(self) -> dict:
        inherits: dict = {"tags": list(self.tags_keeper_lacks)}
        if "captured_at" in self.metadata_keeper_lacks and self.captured_at is not None:
            inherits["captured_at"] = self.captured_at.isoformat()
        return {
            "image_id": self.image_id,
            "group": self.group,
            "keeper_id": self.keepers[0] if self.keepers else None,
            "keeper": self.keeper_path,
            "similarity": self.similarity,
            "reason": self.reason,
            "src": str(self.src),
            "dst": str(self.dst),
            "size": self.size,
            "metadata_keeper_lacks": list(self.metadata_keeper_lacks),
            "keeper_inherits": inherits,
        }


@dataclass(frozen=True, slots=True)
class PlanGroup:
    group: int
    kind: str  # "copies" or "series" (DupGroup.kind); "chosen" (search/duplicates/chosen.py)
    exact: bool
    keeper_id: int | None  # None for a chosen set: it duplicates nothing
    keeper_path: str
    keeper_reason: str
    moves: tuple[PlannedMove, ...]

    @property
    def size(self) -> int:
        return sum(m.size for m in self.moves)

    def to_dict(self) -> dict:
        return {
            "group": self.group,
            "kind": self.kind,
            "exact": self.exact,
            "keeper_id": self.keeper_id,
            "keeper": self.keeper_path,
            "keeper_reason": self.keeper_reason,
            "files": len(self.moves),
            "bytes": self.size,
        }


@dataclass(frozen=True, slots=True)
class LeftInPlace:
    """A non-keeper the filters kept out of the plan, and which filter."""

    image_id: int
    group: int
    path: str
    why: str

    def to_dict(self) -> dict:
        return {"image_id": self.image_id, "group": self.group, "path": self.path, "why": self.why}


@dataclass(frozen=True, slots=True)
class PlanTotals:
    files: int
    bytes: int
    groups: int
    by_reason: dict[str, dict[str, int]]  # reason -> {"files": n, "bytes": n}

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "bytes": self.bytes,
            "groups": self.groups,
            "by_reason": self.by_reason,
        }


@dataclass(frozen=True)
class Plan:
    """Iterating a plan gives its moves, group by group (what apply_quarantine takes)."""

    dest: Path
    groups: tuple[PlanGroup, ...]
    left: tuple[LeftInPlace, ...] = ()
    filters: dict = field(default_factory=dict)

    @property
    def moves(self) -> list[PlannedMove]:
        return [m for g in self.groups for m in g.moves]

    @property
    def totals(self) -> PlanTotals:
        by_reason: dict[str, dict[str, int]] = {}
        for m in self.moves:
            entry = by_reason.setdefault(m.reason, {"files": 0, "bytes": 0})
            entry["files"] += 1
            entry["bytes"] += m.size
        moves = self.moves
        return PlanTotals(len(moves), sum(m.size for m in moves), len(self.groups), by_reason)

    def __iter__(self) -> Iterator[PlannedMove]:
        return iter(self.moves)

    def __len__(self) -> int:
        return sum(len(g.moves) for g in self.groups)

    def to_dict(self) -> dict:
        return {
            "dest": str(self.dest),
            "filters": self.filters,
            "groups": [g.to_dict() for g in self.groups],
            "moves": [m.to_dict() for m in self.moves],
            "left_in_place": [x.to_dict() for x in self.left],
            "totals": self.totals.to_dict(),
        }


def plan_quarantine(
    lib: Library,
    groups: Iterable[DupGroup],
    dest: Path,
    *,
    groups_only: Collection[int] | None = None,
    exact_only: bool = False,
    min_similarity: float | None = None,
    threshold: float | None = None,
) -> Plan:
    """Where each chosen non-keeper would go: DEST/<root folder name>/<its path in the root>."""
    dest = dest.expanduser().resolve()
    groups = list(groups)
    if groups_only is not None:
        unknown = sorted(set(groups_only) - {g.group for g in groups})
        if unknown:
            raise VitrieveError(
                f"no duplicate group {', '.join(map(str, unknown))} at these settings "
                "(see `vitrieve dups` for the groups and their ids)"
            )
        groups = [g for g in groups if g.group in set(groups_only)]
    chosen: list[tuple[DupGroup, list[DupMember]]] = []
    left: list[LeftInPlace] = []
    with lib.sessions() as session:  # read now: groups may predate a folder's marking
        references = ReferenceFolders.load(session)
    for g in groups:
        taken: list[DupMember] = []
        for m in g.others:
            folder = references.folder_of(m.image)
            why = (folder and f"in the reference folder {folder} (always kept)") or (
                _pair_stays(m, taken)
                if m.match == PAIR
                else _left_out(m, exact_only, min_similarity) or _below(m, threshold)
            )
            if why:
                left.append(LeftInPlace(m.image_id, g.group, m.path, why))
            else:
                taken.append(m)
        if taken:
            chosen.append((g, _ordered(taken)))
    with lib.sessions() as session:
        roots = {r.id: Path(r.path) for r in session.scalars(select(Root))}
        check_destination(dest, roots.values(), lib.settings.home)
        rows = _image_rows(session, [m.image_id for _, ms in chosen for m in ms])
        tags = manual_tags(session, sorted({i for g, ms in chosen for i in _ids(g, ms)}))
    labels = root_labels(roots)
    taken_names: set[Path] = set()
    planned = []
    for g, members in chosen:
        keeper = g.keepers[0]
        moves = []
        for m in members:
            r = rows.get(m.image_id)
            if r is None:
                left.append(LeftInPlace(m.image_id, g.group, m.path, "no longer in the catalog"))
                continue
            dst = free_name(dest / labels[r.root_id] / r.rel_path, taken_names)
            taken_names.add(dst)
            lacks, lacking_tags = metadata_keeper_lacks(m, keeper, tags)
            moves.append(
                PlannedMove(
                    m.image_id,
                    g.group,
                    roots[r.root_id] / r.rel_path,
                    dst,
                    r.size,
                    r.mtime_ns,
                    tuple(k.image_id for k in g.keepers),
                    keeper.path,
                    m.similarity,
                    m.match,
                    lacks,
                    lacking_tags,
                    m.captured_at,
                )
            )
        if not moves:
            continue
        planned.append(
            PlanGroup(
                g.group,
                g.kind,
                g.exact,
                keeper.image_id,
                keeper.path,
                g.keeper_reason,
                tuple(moves),
            )
        )
    filters = {
        "groups": sorted(groups_only) if groups_only is not None else None,
        "exact_only": exact_only,
        "min_similarity": min_similarity,
        "threshold": threshold,
    }
    return Plan(dest, tuple(planned), tuple(left), filters)


def metadata_keeper_lacks(
    copy: DupMember, keeper: DupMember, tags: dict[int, dict[str, float]]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the copy has and the keeper lacks: (field names, manual tag labels)."""
    lacks = []
    if copy.captured_at is not None and keeper.captured_at is None:
        lacks.append("captured_at")
    if copy.photo.camera and not keeper.photo.camera:
        lacks.append("camera")
    if copy.photo.has_gps and not keeper.photo.has_gps:
        lacks.append("gps")
    labels = tuple(sorted(set(tags.get(copy.image_id, {})) - set(tags.get(keeper.image_id, {}))))
    if labels:
        lacks.append("tags")
    return tuple(lacks), labels


def _left_out(m: DupMember, exact_only: bool, min_similarity: float | None) -> str | None:
    if exact_only and m.match not in EXACT_MATCHES:
        return "not an exact copy (--exact-only)"
    if min_similarity is not None and (m.similarity is None or m.similarity < min_similarity):
        sim = "unknown" if m.similarity is None else f"{m.similarity:.4f}"
        return f"similarity {sim} to the keeper is below {min_similarity:g}"
    return None


def _below(m: DupMember, threshold: float | None) -> str | None:
    if threshold is None or m.match in EXACT_MATCHES:
        return None
    # similarities are rounded to 6 decimals (groups.py): one a rounding below still qualified
    if m.similarity is None or m.similarity < threshold - 1e-6:
        sim = "unknown" if m.similarity is None else f"{m.similarity:.4f}"
        return f"similarity {sim} to the keeper is below the threshold {threshold:g}"
    return None


def _by_similarity(m: DupMember) -> tuple:
    return (m.similarity is None, -(m.similarity or 0.0), m.image_id)


def _pair_stays(m: DupMember, taken: list[DupMember]) -> str | None:
    """Why the JPEG/HEIF half of a RAW+JPEG pair stays: its RAW (listed before it) stays."""
    if any(t.image_id == m.pair_of for t in taken):
        return None
    return "its RAW stays (a RAW+JPEG pair moves as one)"


def _ordered(taken: list[DupMember]) -> list[DupMember]:
    """Most similar first, each RAW's JPEG/HEIF right after it."""
    partners = {m.pair_of: m for m in taken if m.match == PAIR}
    out = []
    for m in sorted((m for m in taken if m.match != PAIR), key=_by_similarity):
        out.append(m)
        if m.image_id in partners:
            out.append(partners[m.image_id])
    return out


def _ids(g: DupGroup, members: list[DupMember]) -> list[int]:
    return [g.keepers[0].image_id] + [m.image_id for m in members]


def _image_rows(session, ids: list[int]) -> dict[int, Row]:
    ids = sorted(ids)
    rows: dict[int, Row] = {}
    for i in range(0, len(ids), 500):
        for r in session.execute(
            select(Image.id, Image.root_id, Image.rel_path, Image.size, Image.mtime_ns).where(
                Image.id.in_(ids[i : i + 500])
            )
        ):
            rows[r.id] = r
    return rows


def check_destination(dest: Path, roots: Iterable[Path], data_dir: Path) -> None:
    try:
        refuse_data_dir(dest, data_dir)  # the check that refuses roots there
    except VitrieveError:
        raise VitrieveError(
            f"{dest}: the quarantine folder must be outside the vitrieve data directory "
            f"{data_dir.expanduser().resolve()} (deleting it to reset vitrieve would delete the "
            "quarantined photos with it)"
        ) from None
    for root in roots:
        if dest == root or root in dest.parents or dest in root.parents:
            raise VitrieveError(
                f"{dest}: the quarantine folder must be outside every library root "
                f"(it overlaps {root}), or the next ingest would index the quarantine"
            )


def root_labels(roots: dict[int, Path]) -> dict[int, str]:
    names = [p.name for p in roots.values()]
    return {
        rid: p.name if p.name and names.count(p.name) == 1 else f"{p.name or 'root'}-{rid}"
        for rid, p in roots.items()
    }


def free_name(path: Path, taken: set[Path]) -> Path:
    """``path``, or name~1.ext, name~2.ext ... if something is (or will be) there already."""
    candidate, n = path, 0
    while candidate in taken or candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.stem}~{n}{path.suffix}")
    return candidate

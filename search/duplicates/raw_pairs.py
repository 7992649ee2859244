"""RAW+JPEG pairs: the two files a camera writes of one shot are one photo
(docs/DUPLICATES.md#rawjpeg-pairs).

Most cameras can write every shot twice, a RAW and a JPEG (or HEIF) with the same name. Treated
as two photos, the JPEG is a "duplicate" of its own RAW and a clean-up would move one half of
the shot away from the other, which no photographer wants. So a pair is found from the catalog
(nothing is stored: renaming or deleting a file simply ends the pair) and:

- search shows it once, by its rendition (the JPEG/HEIF), marked as having a RAW (`shown_once`);
- `dups` folds the rendition into its RAW (`fold_edges`: the RAW stands for the shot, so the
  keeper rule sees the sensor's file and a pair always beats a lone JPEG copy), then lists the
  rendition right after its RAW as match "pair" (`with_partners`); a plan moves it exactly when
  its RAW moves, so a pair that duplicates another pair moves as a unit and undo restores both.

A pair is one RAW (format "RAW") and one rendition (JPEG, MPO or HEIF) of embedded images in
the same folder of the same root, with the same stem ignoring case (IMG_1.CR3 + img_1.jpg),
whose capture times are at most PAIR_SECONDS apart. When neither has a capture time the name
decides; when only one has one they are not paired (a JPEG that lost its EXIF was made later,
by an editor or an export, not by the camera next to its RAW). A stem with several candidates
pairs each RAW (by id) with the rendition closest in time (then the lowest id), once.
VITRIEVE_RAW_PAIRS=false turns all of this off.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import PurePosixPath

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from vitrieve.indexer.catalog import describe_images
from vitrieve.indexer.library import Library
from vitrieve.indexer.raw_decode import RAW_FORMAT
from vitrieve.search.duplicates.graph import Edges
from vitrieve.search.duplicates.groups import DupGroup, DupMember, image_facts
from vitrieve.search.query import SearchResult
from vitrieve.tables.catalog import Image, ImageStatus
from vitrieve.tables.fsnames import to_db

RENDITION_FORMATS = ("JPEG", "MPO", "HEIF")  # what cameras write next to a RAW
PAIR_SECONDS = 1.0  # capture times of the two halves of one shot (EXIF has whole seconds)
PAIR_MATCH = "pair"  # DupMember.match of a rendition listed after its RAW
_CHUNK = 200  # ids or name prefixes per query


@dataclass(frozen=True, slots=True)
class RawPairs:
    rendition_of: dict[int, int] = field(default_factory=dict)  # RAW id -> JPEG/HEIF id
    raw_of: dict[int, int] = field(default_factory=dict)  # JPEG/HEIF id -> RAW id

    def __bool__(self) -> bool:
        return bool(self.rendition_of)


@dataclass(frozen=True, slots=True)
class _File:
    id: int
    root_id: int
    rel_path: str
    format: str | None
    captured_at: datetime | None

    @property
    def key(self) -> tuple[int, str, str]:
        """(root, folder, stem in lower case): the two halves of a pair share it."""
        p = PurePosixPath(self.rel_path)
        return self.root_id, str(p.parent), p.stem.lower()


_COLUMNS = (Image.id, Image.root_id, Image.rel_path, Image.format, Image.captured_at)
_PAIRABLE = (
    Image.status == ImageStatus.EMBEDDED,
    Image.format.in_((RAW_FORMAT, *RENDITION_FORMATS)),
)


def all_pairs(lib: Library) -> RawPairs:
    """Every pair of the catalog (for `dups`): one read of the RAWs, then of the renditions of
    the roots that hold RAWs; nothing at all when the library holds no RAW."""
    if not lib.settings.raw_pairs:
        return RawPairs()
    with lib.sessions() as session:
        raws = _files(session, select(*_COLUMNS).where(*_PAIRABLE, Image.format == RAW_FORMAT))
        if not raws:
            return RawPairs()
        keys = {f.key for f in raws}
        renditions = [
            f
            for f in _files(
                session,
                select(*_COLUMNS).where(
                    *_PAIRABLE,
                    Image.format != RAW_FORMAT,
                    Image.root_id.in_(sorted({f.root_id for f in raws})),
                ),
            )
            if f.key in keys
        ]
    return _paired(raws + renditions)


def pairs_among(lib: Library, ids: Iterable[int]) -> RawPairs:
    """The pairs that ``ids`` (a page of results) are halves of, with their other halves."""
    if not lib.settings.raw_pairs:
        return RawPairs()
    with lib.sessions() as session:
        wanted = sorted(set(ids))
        mine = [
            f
            for i in range(0, len(wanted), _CHUNK)
            for f in _files(
                session, select(*_COLUMNS).where(*_PAIRABLE, Image.id.in_(wanted[i : i + _CHUNK]))
            )
        ]
        has_raw = session.scalar(
            select(Image.id).where(*_PAIRABLE, Image.format == RAW_FORMAT).limit(1)
        )
        if not mine or has_raw is None:  # most libraries hold no RAW: no name lookups then
            return RawPairs()
        found: dict[int, _File] = {}
        for query in _partner_queries(mine):
            found.update((f.id, f) for f in _files(session, query))
    keys = {f.key for f in mine}
    return _paired([f for f in found.values() if f.key in keys])


def fold_edges(edges: Edges, pairs: RawPairs) -> Edges:
    """The duplicate graph with each rendition's edges given to its RAW (the pair is one node);
    the edge between the two halves disappears."""
    if not pairs or not len(edges):
        return edges
    renditions = np.fromiter(pairs.raw_of, np.int64, len(pairs.raw_of))
    raws = np.fromiter(pairs.raw_of.values(), np.int64, len(pairs.raw_of))
    order = np.argsort(renditions)
    renditions, raws = renditions[order], raws[order]

    def mapped(ids: np.ndarray) -> np.ndarray:
        at = np.clip(np.searchsorted(renditions, ids), 0, len(renditions) - 1)
        return np.where(renditions[at] == ids, raws[at], ids)

    return Edges(mapped(edges.a), mapped(edges.b), edges.sim).concat()


def with_partners(lib: Library, groups: Sequence[DupGroup], pairs: RawPairs) -> list[DupGroup]:
    """Each RAW member followed by its rendition (match "pair", a keeper when its RAW is)."""
    if not pairs:
        return list(groups)
    wanted = [
        pairs.rendition_of[m.image_id]
        for g in groups
        for m in g.members
        if m.image_id in pairs.rendition_of
    ]
    if not wanted:
        return list(groups)
    with lib.sessions() as session:
        facts = image_facts(session, wanted)
    out = []
    for g in groups:
        members: list[DupMember] = []
        for m in g.members:
            members.append(m)
            partner = facts.get(pairs.rendition_of.get(m.image_id, -1))
            if partner is not None:
                members.append(
                    DupMember(partner.image, None, m.keeper, PAIR_MATCH, partner.photo, m.image_id)
                )
        out.append(replace(g, members=tuple(members)))
    return out


def shown_once(ranked: Sequence[int], pairs: RawPairs) -> list[tuple[int, int]]:
    """Ranked ids with each pair shown once, by its rendition, where its better half ranked;
    returns (id shown, the id that put it there), as stacks.collapse does for stacks."""
    seen: set[int] = set()
    out = []
    for image_id in ranked:
        shown = pairs.rendition_of.get(image_id, image_id)
        if shown in seen:
            continue
        seen.add(shown)
        out.append((shown, image_id))
    return out


def paired_results(lib: Library, results: Sequence[SearchResult]) -> list[SearchResult]:
    """Search results with a pair shown once (its rendition, carrying the RAW's path)."""
    pairs = pairs_among(lib, [r.image_id for r in results])
    if not pairs:
        return list(results)
    by_id = {r.image_id: r for r in results}
    shown = shown_once([r.image_id for r in results], pairs)
    with lib.sessions() as session:
        images = describe_images(session, [s for s, _ in shown] + list(pairs.rendition_of))
    out = []
    for s, hit in shown:
        image = images.get(s)
        if image is None:  # gone meanwhile: the hit as it was
            out.append(by_id[hit])
            continue
        raw = images.get(pairs.raw_of.get(s, -1))
        out.append(SearchResult(image, by_id[hit].score, raw.path if raw is not None else None))
    return out


def _partner_queries(files: Sequence[_File]) -> list:
    """Queries that find every file which may pair with one of ``files`` (the caller keeps
    those of the same key). An ASCII name is looked up by its lower-case prefix (`IMG_1.`,
    any case); a name with other letters by its whole folder, since SQLite's lower() leaves
    them as they are (É.DNG and é.jpg would never meet)."""
    prefixes: dict[int, set[str]] = {}
    folders: dict[int, set[str]] = {}
    for f in files:
        name = PurePosixPath(f.rel_path)
        prefix = to_db(str(name.with_name(f"{name.stem}.")))
        if prefix.isascii():
            prefixes.setdefault(f.root_id, set()).add(prefix.lower())
        else:
            folders.setdefault(f.root_id, set()).add(str(name.parent))
    lowered = func.lower(Image.rel_path)
    queries = []
    for root_id, wanted in prefixes.items():
        ordered = sorted(wanted)
        for i in range(0, len(ordered), _CHUNK):
            starts = (lowered.startswith(p, autoescape=True) for p in ordered[i : i + _CHUNK])
            queries.append(_in_root(root_id).where(or_(*starts)))
    for root_id, names in folders.items():
        for folder in sorted(names):
            query = _in_root(root_id)
            if folder != ".":  # a root's own files: the whole root (the key filters)
                query = query.where(Image.rel_path.startswith(f"{folder}/", autoescape=True))
            queries.append(query)
    return queries


def _in_root(root_id: int):
    return select(*_COLUMNS).where(*_PAIRABLE, Image.root_id == root_id)


def _files(session: Session, query) -> list[_File]:
    return [_File(*row) for row in session.execute(query)]


def _paired(files: Iterable[_File]) -> RawPairs:
    by_key: dict[tuple[int, str, str], list[_File]] = {}
    for f in files:
        by_key.setdefault(f.key, []).append(f)
    rendition_of: dict[int, int] = {}
    for group in by_key.values():
        raws = sorted((f for f in group if f.format == RAW_FORMAT), key=lambda f: f.id)
        left = [f for f in group if f.format != RAW_FORMAT]
        for raw in raws:
            matching = [r for r in left if _same_moment(raw.captured_at, r.captured_at)]
            if not matching:
                continue
            best = min(matching, key=lambda r: (_apart(raw.captured_at, r.captured_at), r.id))
            left.remove(best)
            rendition_of[raw.id] = best.id
    return RawPairs(rendition_of, {v: k for k, v in rendition_of.items()})


def _same_moment(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return _apart(a, b) <= PAIR_SECONDS


def _apart(a: datetime | None, b: datetime | None) -> float:
    if a is None or b is None:
        return 0.0
    return abs((a.replace(tzinfo=None) - b.replace(tzinfo=None)).total_seconds())

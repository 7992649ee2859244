"""Exact and near-duplicate groups of the searchable images (`vitrieve dups`).

Exact duplicates share their file bytes (content hash) or their decoded pixels (pixel hash: a
PNG and its lossless re-save). Near-duplicates have vectors whose cosine similarity reaches the
threshold (search.duplicates.pairs). Both kinds of pairs are edges of one graph; the user's "not
duplicates" pairs are taken out. Each connected component is then split into keeper-centred
groups (search.duplicates.centred): a member is in a group only when it is a duplicate of the
group's keeper itself, never through a chain of friends.

A RAW and the JPEG/HEIF shot with it are one node, the RAW (search.duplicates.raw_pairs), never
a duplicate of each other. Only images with status `embedded` take part; the near-duplicate
search also needs a vector of the current model. Memory stays O(N x d) half-precision vectors
plus O(edges): never N x N.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.backfill import fill_missing_facts
from vitrieve.search.duplicates.centred import Centring, copy_keys_of, keeper_order
from vitrieve.search.duplicates.decisions import ignored_ids, ignored_keys, keeper_ids
from vitrieve.search.duplicates.describe import describe_groups
from vitrieve.search.duplicates.graph import Edges, components, hash_group_edges
from vitrieve.search.duplicates.groups import DupGroup, image_facts
from vitrieve.search.duplicates.pairs import (
    DEFAULT_NPROBE,
    ProgressFn,
    choose_method,
    similar_pairs,
)
from vitrieve.search.duplicates.prefer import KeeperRule, preferences
from vitrieve.search.duplicates.raw_pairs import all_pairs, fold_edges, with_partners
from vitrieve.search.duplicates.reference import ReferenceFolders
from vitrieve.search.duplicates.stacks import fully_stacked, stack_map
from vitrieve.search.duplicates.vectors import VectorSet, load_vectors
from vitrieve.tables.catalog import Image, ImageStatus

DEFAULT_THRESHOLD = 0.90  # cosine of ViT-B/16 pooler vectors; see docs/DUPLICATES.md
_DESCRIBE_CHUNK = 2000  # groups described per SQL round


@dataclass
class DupReport:
    threshold: float | None  # None: exact duplicates only
    method: str  # how near-duplicate pairs were found ("none" for exact only)
    images: int  # images considered
    groups: list[DupGroup] = field(default_factory=list)
    seconds: float = 0.0
    why: str = ""  # where the threshold came from (search/duplicates/threshold.py)

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "threshold_why": self.why,
            "method": self.method,
            "images": self.images,
            "seconds": self.seconds,
            "groups": [g.to_dict() for g in self.groups],
        }


@dataclass
class EdgeSet:
    edges: Edges
    vectors: VectorSet | None  # None when only exact duplicates were looked for
    method: str
    images: int


def find_duplicates(
    lib: Library,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    exact_only: bool = False,
    method: str = "auto",
    nprobe: int = DEFAULT_NPROBE,
    progress: ProgressFn | None = None,
    prefer: str | None = None,
) -> DupReport:
    """All keeper-centred duplicate groups, with the user's decisions applied: their keepers,
    images in reference folders (kept like them) and keeper preferences (``prefer``, as
    VITRIEVE_KEEPER_PREFER; None: the library's setting)."""
    started = time.perf_counter()
    rule = KeeperRule(preferences(lib.settings.keeper_prefer if prefer is None else prefer))
    with lib.sessions() as session:
        ignored = ignored_keys(session)
        keepers = keeper_ids(session)
        folders = ReferenceFolders.load(session)
        stacked = stack_map(session)  # a group kept whole as a stack is decided: not listed
    found = duplicate_edges(
        lib,
        None if exact_only else threshold,
        touched=ignored_ids(ignored),
        method=method,
        nprobe=nprobe,
        progress=progress,
    )
    pairs = all_pairs(lib)  # a RAW stands for its JPEG/HEIF: the two are one photo
    near = fold_edges(found.edges.without(ignored), pairs)
    centring = Centring(
        near,
        rows_of=None if found.vectors is None else found.vectors.rows_of,
        ignored=ignored,
    )
    groups = components(near)
    ignored_set = frozenset(ignored.tolist())
    described: list[DupGroup] = []
    for i in range(0, len(groups), _DESCRIBE_CHUNK):
        part = groups[i : i + _DESCRIBE_CHUNK]
        ids = np.concatenate(part)
        fill_missing_facts(lib, ids)  # the keeper order needs them (old rows: measured once)
        with lib.sessions() as session:
            facts = image_facts(session, ids)
        same = copy_keys_of(facts)
        chunk = rule.with_reference(folders.among({i: f.image for i, f in facts.items()}))
        kept = keepers | set(chunk.reference)
        centred = [
            g for c in part for g in centring.split(keeper_order(c, facts, kept, chunk), same)
        ]
        described += describe_groups(  # + series, each centred on its own best shot
            lib,
            centred,
            kept,
            found.vectors,
            threshold=None if exact_only else threshold,
            ignored=ignored_set,
            facts=facts,
            rule=chunk,
        )
        if progress:
            progress("describing", min(i + _DESCRIBE_CHUNK, len(groups)), len(groups))
    described.sort(key=lambda g: g.group)
    listed = [
        g
        for g in described
        if len(g.members) > 1 and not fully_stacked([m.image_id for m in g.members], stacked)
    ]
    return DupReport(
        threshold=None if exact_only else threshold,
        method=found.method,
        images=found.images,
        groups=with_partners(lib, listed, pairs),  # each RAW followed by its JPEG/HEIF
        seconds=round(time.perf_counter() - started, 3),
    )


def duplicate_edges(
    lib: Library,
    threshold: float | None,
    *,
    only_ids: Sequence[int] | np.ndarray | None = None,
    touched: set[int] | frozenset[int] = frozenset(),
    method: str = "auto",
    nprobe: int = DEFAULT_NPROBE,
    progress: ProgressFn | None = None,
) -> EdgeSet:
    """Exact-duplicate edges (similarity 1.0) and, unless threshold is None, near-duplicate
    edges at or above it; among ``only_ids`` if given. ``touched`` are ids named by a decision:
    their edges are spelt out pair by pair so that ignoring a pair removes just that pair."""
    wanted = None if only_ids is None else np.unique(np.asarray(only_ids, np.int64))
    with lib.sessions() as session:
        groups = _hash_groups(session, Image.content_hash)
        groups += _hash_groups(session, Image.pixel_hash)
        images = _embedded_count(session) if wanted is None else len(wanted)
    if wanted is not None:
        keep = set(wanted.tolist())
        groups = [kept for g in groups if len(kept := [i for i in g if i in keep]) > 1]
    exact = hash_group_edges(groups, set(touched))
    if threshold is None:
        return EdgeSet(exact.concat(), None, "none", images)
    model = lib.model_row
    vectors = load_vectors(lib.sessions, model.id, model.dim, only_ids=only_ids, progress=progress)
    chosen = choose_method(len(vectors.vectors)) if method == "auto" else method
    pairs = similar_pairs(
        vectors.vectors, threshold, method=chosen, nprobe=nprobe, progress=progress
    )
    near = Edges(vectors.rep_ids[pairs.a], vectors.rep_ids[pairs.b], pairs.sim)
    near = _spell_out_copies(near, vectors, touched)
    return EdgeSet(exact.concat(near), vectors, chosen, images)


def _embedded_count(session: Session) -> int:
    return session.execute(
        select(func.count()).select_from(Image).where(Image.status == ImageStatus.EMBEDDED)
    ).scalar_one()


def _hash_groups(session: Session, column) -> list[list[int]]:
    """Ids of embedded images sharing a hash, one list per hash seen more than once."""
    shared = (
        select(column)
        .where(Image.status == ImageStatus.EMBEDDED, column.is_not(None))
        .group_by(column)
        .having(func.count() > 1)
    )
    rows = session.execute(
        select(column, Image.id)
        .where(Image.status == ImageStatus.EMBEDDED, column.in_(shared))
        .order_by(column, Image.id)
    ).all()
    return [[r[1] for r in part] for _, part in groupby(rows, key=lambda r: r[0])]


def _spell_out_copies(near: Edges, vectors: VectorSet, touched) -> Edges:
    """The search ran on one row per content; a decision naming a byte copy needs the copy's
    own edges (the copy has exactly its representative's neighbours)."""
    if not touched or not len(near):
        return near
    rows = vectors.rows_of(np.asarray(sorted(touched), np.int64))
    rows = np.unique(rows[rows >= 0])
    copies = {}
    for r in rows:
        members = vectors.ids[vectors.rep == r]
        if len(members) > 1:
            copies[int(vectors.rep_ids[r])] = members.tolist()
    if not copies:
        return near
    reps = np.asarray(sorted(copies), np.int64)
    hit = np.isin(near.a, reps) | np.isin(near.b, reps)
    xs: list[int] = []
    ys: list[int] = []
    sims: list[float] = []
    for a, b, s in zip(near.a[hit], near.b[hit], near.sim[hit], strict=True):
        for x in copies.get(int(a), [int(a)]):
            for y in copies.get(int(b), [int(b)]):
                xs.append(x)
                ys.append(y)
                sims.append(float(s))
    extra = Edges(np.asarray(xs, np.int64), np.asarray(ys, np.int64), np.asarray(sims, np.float32))
    return near.concat(extra)

"""The searchable vectors, loaded from SQL once for a duplicate search, one row per content.

Byte-identical files share one vector (invariant 5), so only one row per content hash goes
into the similarity search: a thousand copies of one picture cost one row, not a million
pairs; the copies join their group through exact-duplicate edges. Vectors stay float16 as
stored (1M x 768 = 1.5 GB), converted to float32 only per block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from vitrieve.indexer.catalog import VECTOR_DTYPE, searchable_filter
from vitrieve.search.duplicates.pairs import ProgressFn
from vitrieve.tables.catalog import Embedding, Image

_CHUNK = 20_000
_ID_CHUNK = 500  # ids per IN (...): well under SQLite's parameter limit


@dataclass
class VectorSet:
    ids: np.ndarray  # int64, ascending: every searchable image
    rep: np.ndarray  # int64 per image: its row in `vectors` (copies share one)
    rep_ids: np.ndarray  # int64 per row of `vectors`: the lowest image id with that content
    vectors: np.ndarray  # float16 [rows, dim], one per distinct content

    def rows_of(self, image_ids: np.ndarray) -> np.ndarray:
        """Row in `vectors` of each image id, -1 for ids not in the set."""
        pos = np.searchsorted(self.ids, image_ids)
        pos = np.minimum(pos, max(len(self.ids) - 1, 0))
        found = (len(self.ids) > 0) & (self.ids[pos] == image_ids)
        return np.where(found, self.rep[pos], -1)

    def unit(self, rows: np.ndarray) -> np.ndarray:
        v = self.vectors[rows].astype(np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def load_vectors(
    factory: sessionmaker[Session],
    model_id: int,
    dim: int,
    *,
    only_ids: Sequence[int] | np.ndarray | None = None,
    progress: ProgressFn | None = None,
) -> VectorSet:
    """Searchable images' vectors (all, or those of ``only_ids``), deduplicated by content."""
    with factory() as session:
        total = (
            len(only_ids)
            if only_ids is not None
            else session.execute(
                select(func.count())
                .select_from(Embedding)
                .join(Image)
                .where(searchable_filter(model_id))
            ).scalar_one()
        )
    ids = np.empty(total, np.int64)
    hashes = np.empty((total, 2), np.uint64)
    vectors = np.empty((total, dim), VECTOR_DTYPE)
    n = 0
    for chunk in _chunks(factory, model_id, only_ids):
        if n + len(chunk) > len(ids):  # rows added since the count: grow (rare)
            size = max(2 * len(ids), n + len(chunk))
            ids, hashes = np.resize(ids, size), np.resize(hashes, (size, 2))
            vectors = np.resize(vectors, (size, dim))
        end = n + len(chunk)
        ids[n:end] = [r[0] for r in chunk]
        digest = bytes.fromhex("".join(r[1].ljust(32, "0") for r in chunk))
        hashes[n:end] = np.frombuffer(digest, dtype=np.uint64).reshape(-1, 2)
        vectors[n:end] = np.frombuffer(b"".join(r[2] for r in chunk), VECTOR_DTYPE).reshape(-1, dim)
        n = end
        if progress:
            progress("loading", n, max(total, n))
    ids, hashes = ids[:n], hashes[:n]
    order = np.argsort(ids, kind="stable")
    if not np.array_equal(order, np.arange(n)):  # only_ids chunks may come out of order
        ids, hashes = ids[order], hashes[order]
        vectors[:n] = vectors[order]
    return _dedupe(ids, hashes, vectors, n)


def _chunks(factory, model_id: int, only_ids: Sequence[int] | np.ndarray | None):
    columns = (Embedding.image_id, Embedding.content_hash, Embedding.vector)
    if only_ids is not None:
        wanted = sorted(set(int(i) for i in only_ids))
        for i in range(0, len(wanted), _ID_CHUNK):
            with factory() as session:
                yield session.execute(
                    select(*columns)
                    .join(Image)
                    .where(searchable_filter(model_id), Image.id.in_(wanted[i : i + _ID_CHUNK]))
                ).all()
        return
    last = 0
    while True:
        with factory() as session:
            rows = session.execute(
                select(*columns)
                .join(Image)
                .where(searchable_filter(model_id), Embedding.image_id > last)
                .order_by(Embedding.image_id)
                .limit(_CHUNK)
            ).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _dedupe(ids: np.ndarray, hashes: np.ndarray, vectors: np.ndarray, n: int) -> VectorSet:
    """Keeps the first row of each content hash, compacting `vectors` in place (no copy)."""
    if n == 0:
        empty = np.empty(0, np.int64)
        return VectorSet(empty, empty, empty, vectors[:0])
    _, first, inverse = np.unique(hashes, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    keep = np.sort(first)  # rows are in id order, so the first of a hash has its lowest id
    row_of_group = np.empty(len(first), np.int64)
    row_of_group[inverse[keep]] = np.arange(len(keep))
    # Moving rows down to their new place: every source row is at or after its destination,
    # and a fancy-indexed right-hand side is read before the write, so no row is lost.
    for i in range(0, len(keep), _CHUNK):
        part = keep[i : i + _CHUNK]
        vectors[i : i + len(part)] = vectors[part]
    return VectorSet(ids, row_of_group[inverse], ids[keep], vectors[: len(keep)])

"""A stand-in for the catalog's searchable vectors, for index tests that need no database.

It offers exactly the loaders `VectorIndex.open` takes from the library, and tests change it the
way ingest changes SQL (rows first, then the index).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vitrieve.indexer.index.store import VectorIndex

DIM = 16


def unit_vectors(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class FakeSql:
    """id -> vector rows; `vector_loads` counts full scans (i.e. rebuilds)."""

    def __init__(self, dim: int = DIM) -> None:
        self.dim = dim
        self.rows: dict[int, np.ndarray] = {}
        self.vector_loads = 0

    def put(self, ids, vectors: np.ndarray) -> None:
        for i, v in zip(np.asarray(ids).tolist(), vectors, strict=True):
            self.rows[int(i)] = np.asarray(v, dtype=np.float32)

    def delete(self, ids) -> None:
        for i in np.asarray(ids).tolist():
            self.rows.pop(int(i), None)

    def expected_ids(self) -> np.ndarray:
        return np.asarray(sorted(self.rows), dtype=np.int64)

    def load_vectors(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        self.vector_loads += 1
        ids = self.expected_ids()
        for start in range(0, len(ids), 7):
            chunk = ids[start : start + 7]
            yield chunk, self.vectors(chunk)

    def load_by_ids(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = np.asarray([int(i) for i in ids if int(i) in self.rows], dtype=np.int64)
        return keep, self.vectors(keep)

    def vectors(self, ids) -> np.ndarray:
        if not len(ids):
            return np.empty((0, self.dim), np.float32)
        return np.stack([self.rows[int(i)] for i in ids])

    def open(self, path: Path) -> tuple[VectorIndex, bool]:
        """Open as the library does: checked against these rows, merging with them on save."""
        return VectorIndex.open(
            path, self.dim, self.expected_ids, self.load_vectors, load_by_ids=self.load_by_ids
        )


def filled(n: int, seed: int = 0, start: int = 1) -> FakeSql:
    sql = FakeSql()
    sql.put(np.arange(start, start + n), unit_vectors(n, seed=seed))
    return sql


def assert_serves(index: VectorIndex, sql: FakeSql) -> None:
    """The index holds exactly SQL's ids, each with SQL's vector (its own best hit, score 1)."""
    np.testing.assert_array_equal(index.ids(), sql.expected_ids())
    ids = sql.expected_ids()
    if ids.size:
        hits = index.search(sql.vectors(ids), k=1)
        assert [h[0].id for h in hits] == ids.tolist()
        assert min(h[0].score for h in hits) > 0.9999

"""The loaders `VectorIndex` is opened with, standing in for SQL, and clustered test vectors: for
the index tests that need no database (test_vector_index, test_index_spotcheck)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tests.support.sqlfake import DIM, unit_vectors


class Sql:
    """Stands in for the SQL tables: the loaders the index is opened with, counting calls."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, chunk: int = 7) -> None:
        self.ids_ = np.asarray(ids, dtype=np.int64)
        self.vectors = vectors
        self.chunk = chunk
        self.vector_loads = 0

    def expected_ids(self) -> np.ndarray:
        return self.ids_.copy()

    def load_vectors(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        self.vector_loads += 1
        for start in range(0, len(self.ids_), self.chunk):
            end = start + self.chunk
            yield self.ids_[start:end], self.vectors[start:end]


def clustered(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = unit_vectors(30, dim, seed + 500)
    x = centres[rng.integers(0, 30, n)] + rng.standard_normal((n, dim)).astype(np.float32) * 0.2
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

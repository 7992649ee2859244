"""An index file whose vectors are not SQL's is rebuilt on open, even when its sidecar was
rewritten to match it and it holds exactly SQL's ids; SQL's own file, exact or approximate
(SQ8, PQ codes), is opened as it is. Real index files, written as a save writes them."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from tests.support import DIM, Sql, clustered, unit_vectors
from vitrieve.indexer.index import files as index_file
from vitrieve.indexer.index.store import VectorIndex


class SqlById(Sql):
    """The fake SQL, also answering "vectors of these ids" as the catalog does (any order)."""

    def load_by_ids(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero(np.isin(self.ids_, ids))[::-1]  # not sorted, like SQL
        return self.ids_[rows], self.vectors[rows]


def sql_of(n: int, seed: int = 0) -> SqlById:
    ids = np.random.default_rng(seed + 1000).choice(100_000, size=n, replace=False)
    return SqlById(ids, clustered(n, seed=seed), chunk=500)


def raw_index(kind: str, ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    if kind == "flat":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    else:
        index = faiss.index_factory(DIM, kind, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
    index.add_with_ids(np.ascontiguousarray(vectors), ids)
    return index


def write_file(path: Path, kind: str, ids: np.ndarray, vectors: np.ndarray) -> None:
    """The file and a sidecar that vouches for it (checksum, count, dim): what a save writes."""
    index_file.write_index(path, raw_index(kind, ids, vectors), 1, {"n": len(ids)})


def open_with_sql(path: Path, sql: SqlById) -> tuple[VectorIndex, bool]:
    return VectorIndex.open(
        path, DIM, sql.expected_ids, sql.load_vectors, load_by_ids=sql.load_by_ids
    )


def hits_itself(index: VectorIndex, sql: Sql, tolerance: float) -> bool:
    hits = index.search(sql.vectors, k=1)
    return all(
        h[0].id == i and h[0].score == pytest.approx(1.0, abs=tolerance)
        for h, i in zip(hits, sql.ids_, strict=True)
    )


KINDS = ["flat", "IVF16,Flat", "IVF16,SQ8", "IVF16,PQ4x4"]


@pytest.mark.parametrize("kind", KINDS)
def test_sqls_own_file_is_opened_without_a_rebuild(tmp_path: Path, kind: str) -> None:
    sql = sql_of(2000)
    path = tmp_path / "vectors.faiss"
    write_file(path, kind, sql.ids_, sql.vectors)
    before = path.read_bytes()
    index, rebuilt = open_with_sql(path, sql)
    assert rebuilt is False
    assert sql.vector_loads == 0  # nothing streamed from SQL: only the sample was read
    assert (index.kind == "flat") == (kind == "flat")
    assert path.read_bytes() == before


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_with_other_vectors_for_sqls_ids_is_rebuilt_from_sql(
    tmp_path: Path, kind: str
) -> None:
    sql = sql_of(2000)
    path = tmp_path / "vectors.faiss"
    write_file(path, kind, sql.ids_, clustered(2000, seed=99))  # another library's pictures
    index, rebuilt = open_with_sql(path, sql)
    assert rebuilt is True
    assert hits_itself(index, sql, 1e-5)
    _, again = open_with_sql(path, sql)
    assert again is False  # the rebuild was saved and is SQL's


def test_a_file_with_a_quarter_of_its_vectors_swapped_is_rebuilt(tmp_path: Path) -> None:
    sql = sql_of(2000)
    vectors = sql.vectors.copy()
    swapped = np.random.default_rng(5).choice(2000, size=500, replace=False)
    vectors[swapped] = unit_vectors(500, seed=6)
    path = tmp_path / "vectors.faiss"
    write_file(path, "flat", sql.ids_, vectors)
    index, rebuilt = open_with_sql(path, sql)
    assert rebuilt is True
    assert hits_itself(index, sql, 1e-5)


def test_float16_rounding_of_sqls_vectors_is_not_a_difference(tmp_path: Path) -> None:
    """The catalog stores float16: a file built from the rounded, renormalised vectors and
    compared with them again (or with the float32 originals) is SQL's."""
    exact = sql_of(500)
    rounded = exact.vectors.astype(np.float16).astype(np.float32)
    rounded /= np.linalg.norm(rounded, axis=1, keepdims=True)
    path = tmp_path / "vectors.faiss"
    write_file(path, "flat", exact.ids_, rounded)
    _, rebuilt = open_with_sql(path, exact)
    assert rebuilt is False

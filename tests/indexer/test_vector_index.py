"""Specifications for indexer.index.store: a FAISS index file derived from (and checked
against) SQL, with upsert, exclusion-aware search, atomic saves and cross-process refresh."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest

from tests.support import Sql, clustered
from vitrieve.indexer.index.lock import IndexWriteError
from vitrieve.indexer.index.policy import IndexPolicy, build_index
from vitrieve.indexer.index.store import SearchHit, VectorIndex

DIM = 16
REPO_ROOT = Path(__file__).resolve().parents[2]


def unit_vectors(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_sql(n: int = 50, seed: int = 0, dim: int = DIM) -> Sql:
    ids = np.random.default_rng(seed + 1000).choice(10_000, size=n, replace=False)
    return Sql(ids, unit_vectors(n, dim, seed))


def built(tmp_path: Path, sql: Sql, dim: int = DIM) -> VectorIndex:
    return VectorIndex.build(tmp_path / "vectors.faiss", dim, sql.load_vectors)


def as_pairs(results: list[list[SearchHit]]) -> list[list[tuple[int, float]]]:
    return [[(h.id, round(h.score, 5)) for h in hits] for hits in results]


def test_search_returns_exact_vector_first_and_matches_brute_force(tmp_path: Path) -> None:
    sql = make_sql(200)
    index = built(tmp_path, sql)
    queries = sql.vectors[:5]
    results = index.search(queries, k=10)
    brute = queries @ sql.vectors.T
    for row, hits in enumerate(results):
        assert hits[0].id == sql.ids_[row]
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)
        order = np.argsort(-brute[row], kind="stable")[:10]
        assert [h.id for h in hits] == sql.ids_[order].tolist()
        np.testing.assert_allclose([h.score for h in hits], brute[row][order], atol=1e-5)


def test_build_streams_all_chunks_and_ids_are_sorted_int64(tmp_path: Path) -> None:
    sql = make_sql(50)
    index = built(tmp_path, sql)
    assert len(index) == 50
    assert index.ids().dtype == np.int64
    np.testing.assert_array_equal(index.ids(), np.sort(sql.ids_))


def test_build_rejects_duplicate_ids_across_chunks(tmp_path: Path) -> None:
    sql = Sql(np.array([1, 2, 3, 1]), unit_vectors(4), chunk=2)
    with pytest.raises(ValueError, match="duplicate"):
        built(tmp_path, sql)


def test_search_on_empty_index_returns_empty_lists(tmp_path: Path) -> None:
    index = built(tmp_path, Sql(np.array([], dtype=np.int64), unit_vectors(0)))
    assert len(index) == 0
    assert index.search(unit_vectors(3), k=5) == [[], [], []]


def test_search_never_pads_with_minus_one(tmp_path: Path) -> None:
    index = built(tmp_path, make_sql(3))
    hits = index.search(unit_vectors(1, seed=9), k=10)[0]
    assert len(hits) == 3
    assert all(h.id != -1 for h in hits)


def test_add_with_existing_id_replaces_vector(tmp_path: Path) -> None:
    sql = make_sql(20)
    index = built(tmp_path, sql)
    target = int(sql.ids_[4])
    new_vector = unit_vectors(1, seed=42)
    index.add(np.array([target]), new_vector)
    assert len(index) == 20
    best = index.search(new_vector, k=1)[0][0]
    assert best.id == target
    assert best.score == pytest.approx(1.0, abs=1e-5)
    old_best = index.search(sql.vectors[4:5], k=1)[0][0]
    assert old_best.score < 0.99  # the old vector is gone, not kept beside the new one


def test_add_new_ids_grows_index(tmp_path: Path) -> None:
    index = built(tmp_path, make_sql(10))
    index.add(np.array([20_000, 20_001]), unit_vectors(2, seed=5))
    assert len(index) == 12
    assert {20_000, 20_001} <= set(index.ids().tolist())


def test_remove_drops_ids_and_returns_count(tmp_path: Path) -> None:
    sql = make_sql(20)
    index = built(tmp_path, sql)
    gone = sql.ids_[:3]
    assert index.remove(np.concatenate([gone, [99_999]])) == 3  # unknown id is fine
    assert len(index) == 17
    assert not set(gone.tolist()) & set(index.ids().tolist())
    assert all(h.id not in gone for h in index.search(sql.vectors[:3], k=17)[0])
    assert index.remove(gone) == 0


def test_exclude_drops_ids_and_still_returns_k_hits(tmp_path: Path) -> None:
    sql = make_sql(100)
    index = built(tmp_path, sql)
    query = sql.vectors[:1]
    plain = [h.id for h in index.search(query, k=5)[0]]
    excluded = set(plain[:3])
    hits = index.search(query, k=5, exclude=excluded)[0]
    assert len(hits) == 5
    assert not excluded & {h.id for h in hits}
    assert [h.id for h in hits][:2] == plain[3:]


def test_wrong_dims_raise_value_error(tmp_path: Path) -> None:
    index = built(tmp_path, make_sql(5))
    with pytest.raises(ValueError, match=str(DIM)):
        index.add(np.array([1]), unit_vectors(1, dim=DIM + 1))
    with pytest.raises(ValueError, match=str(DIM)):
        index.search(unit_vectors(1, dim=DIM - 1), k=1)
    with pytest.raises(ValueError):
        index.add(np.array([1, 2]), unit_vectors(1))  # id/vector count mismatch
    with pytest.raises(ValueError):
        index.add(np.array([[1]]), unit_vectors(1))  # ids not 1-D
    with pytest.raises(ValueError, match=str(DIM)):
        VectorIndex.build(tmp_path / "other.faiss", DIM, make_sql(5, dim=8).load_vectors)


def test_save_then_open_with_matching_ids_does_not_rebuild(tmp_path: Path) -> None:
    sql = make_sql(60)
    index = built(tmp_path, sql)
    index.save()
    queries = unit_vectors(4, seed=3)
    reopened, rebuilt = VectorIndex.open(index.path, DIM, sql.expected_ids, sql.load_vectors)
    assert rebuilt is False
    assert sql.vector_loads == 1  # only the original build
    assert as_pairs(reopened.search(queries, k=8)) == as_pairs(index.search(queries, k=8))


def test_open_missing_file_builds_and_saves(tmp_path: Path) -> None:
    sql = make_sql(10)
    path = tmp_path / "sub" / "vectors.faiss"
    index, rebuilt = VectorIndex.open(path, DIM, sql.expected_ids, sql.load_vectors)
    assert rebuilt is True
    assert path.exists()
    assert len(index) == 10


def _assert_equals_sql(index: VectorIndex, sql: Sql) -> None:
    np.testing.assert_array_equal(index.ids(), np.sort(sql.ids_))
    for hits, expected_id in zip(index.search(sql.vectors, k=1), sql.ids_, strict=True):
        assert hits[0].id == expected_id
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("change", ["one_extra", "one_missing", "same_count_other_ids"])
def test_open_with_differing_ids_rebuilds_from_loader(tmp_path: Path, change: str) -> None:
    old = make_sql(30)
    built(tmp_path, old).save()
    ids, vectors = old.ids_.copy(), unit_vectors(30, seed=77)  # SQL's vectors moved on too
    if change == "one_extra":
        ids, vectors = np.append(ids, 50_000), np.vstack([vectors, unit_vectors(1, seed=78)])
    elif change == "one_missing":
        ids, vectors = ids[1:], vectors[1:]
    else:
        ids[0] = 50_001
    sql = Sql(ids, vectors)
    index, rebuilt = VectorIndex.open(
        tmp_path / "vectors.faiss", DIM, sql.expected_ids, sql.load_vectors
    )
    assert rebuilt is True
    assert sql.vector_loads == 1
    _assert_equals_sql(index, sql)
    again, rebuilt_again = VectorIndex.open(index.path, DIM, sql.expected_ids, sql.load_vectors)
    assert rebuilt_again is False  # the rebuild was saved
    _assert_equals_sql(again, sql)


def test_corrupt_file_rebuilds_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sql = make_sql(15)
    path = tmp_path / "vectors.faiss"
    path.write_bytes(os.urandom(64) + b"not a faiss index")
    with caplog.at_level(logging.WARNING, logger="vitrieve.indexer.index.store"):
        index, rebuilt = VectorIndex.open(path, DIM, sql.expected_ids, sql.load_vectors)
    assert rebuilt is True
    assert any("unreadable" in r.getMessage() for r in caplog.records)
    _assert_equals_sql(index, sql)


def test_dim_mismatch_rebuilds(tmp_path: Path) -> None:
    small = make_sql(10, dim=8)
    VectorIndex.build(tmp_path / "vectors.faiss", 8, small.load_vectors).save()
    sql = Sql(small.ids_, unit_vectors(10, seed=4))  # same ids, new model with DIM dims
    index, rebuilt = VectorIndex.open(
        tmp_path / "vectors.faiss", DIM, sql.expected_ids, sql.load_vectors
    )
    assert rebuilt is True
    assert index.dim == DIM
    assert faiss.read_index(str(index.path)).d == DIM
    _assert_equals_sql(index, sql)


def test_atomic_save_leaves_no_temp_files_and_old_readers_keep_working(tmp_path: Path) -> None:
    sql = make_sql(20)
    writer = built(tmp_path, sql)
    writer.save()
    reader, _ = VectorIndex.open(writer.path, DIM, sql.expected_ids, sql.load_vectors)
    old_bytes = writer.path.read_bytes()
    with open(writer.path, "rb") as held:
        writer.add(np.arange(20_000, 20_010), unit_vectors(10, seed=8))
        writer.save()
        assert held.read() == old_bytes  # replaced by rename, never rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".writer.lock",
        "vectors.faiss",
        "vectors.faiss.meta.json",
    ]
    old = faiss.deserialize_index(np.frombuffer(old_bytes, dtype=np.uint8))
    assert old.ntotal == 20
    assert len(reader) == 20
    assert reader.search(sql.vectors[:1], k=1)[0][0].id == sql.ids_[0]
    assert faiss.read_index(str(writer.path)).ntotal == 30


def test_failed_save_keeps_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = built(tmp_path, make_sql(5))
    index.save()
    before = index.path.read_bytes(), index.meta_path.read_bytes()
    index.add(np.array([9_999]), unit_vectors(1, seed=3))
    real_write = faiss.write_index

    def disk_full(raw: object, writer: object) -> None:
        real_write(raw, writer)  # the bytes reach the temp file, then the disk fills up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", disk_full)
    with pytest.raises(IndexWriteError, match=f"{index.path}.*No space left on device"):
        index.save()
    assert (index.path.read_bytes(), index.meta_path.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".writer.lock",
        "vectors.faiss",
        "vectors.faiss.meta.json",
    ]
    monkeypatch.setattr(faiss, "write_index", real_write)
    assert index.unsaved and index.save() is True  # nothing was lost in memory
    assert faiss.read_index(str(index.path)).ntotal == 6


def test_generation_increases_on_every_save_and_sidecar_matches(tmp_path: Path) -> None:
    index = built(tmp_path, make_sql(5))
    assert index.generation == 0
    index.save()
    first = index.generation
    index.add(np.array([9_999_999]), unit_vectors(1, seed=1))
    index.save()
    assert index.generation == first + 1 >= 2
    meta = json.loads(index.path.with_name("vectors.faiss.meta.json").read_text())
    assert meta["generation"] == index.generation
    assert meta["count"] == 6
    assert meta["dim"] == DIM
    assert isinstance(meta["saved_at"], float)


def test_refresh_picks_up_save_from_another_instance(tmp_path: Path) -> None:
    sql = make_sql(10)
    writer = built(tmp_path, sql)
    writer.save()
    reader, rebuilt = VectorIndex.open(writer.path, DIM, sql.expected_ids, sql.load_vectors)
    assert rebuilt is False
    assert reader.refresh() is False
    new_vector = unit_vectors(1, seed=11)
    writer.add(np.array([77_777]), new_vector)
    writer.save()
    assert len(reader) == 10
    assert reader.refresh() is True
    assert len(reader) == 11
    assert reader.generation == writer.generation
    assert reader.search(new_vector, k=1)[0][0].id == 77_777
    assert reader.refresh() is False
    assert writer.refresh() is False  # its own save is not "another process"


def test_refresh_keeps_current_index_when_file_is_corrupt(tmp_path: Path) -> None:
    index = built(tmp_path, make_sql(10))
    index.save()
    index.path.write_bytes(b"garbage")
    assert index.refresh() is False
    assert len(index) == 10


CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy as np
    from vitrieve.indexer.index.store import VectorIndex

    def no_rebuild():
        raise AssertionError("child must load the file, not rebuild")

    path, dim, ids = Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
    index, rebuilt = VectorIndex.open(path, dim, lambda: np.array(ids), no_rebuild)
    print(len(index), rebuilt, flush=True)
    sys.stdin.readline()
    print(index.refresh(), len(index), index.generation, flush=True)
    """
)


def test_second_process_sees_parent_save(tmp_path: Path) -> None:
    sql = make_sql(12)
    parent = built(tmp_path, sql)
    parent.save()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    args = [sys.executable, "-c", CHILD, str(parent.path), str(DIM), json.dumps(sql.ids_.tolist())]
    with subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=env
    ) as child:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().split() == ["12", "False"]
        parent.add(np.arange(30_000, 30_005), unit_vectors(5, seed=12))
        parent.save()
        out, _ = child.communicate("go\n", timeout=60)
    assert child.returncode == 0
    assert out.split() == ["True", "17", str(parent.generation)]


# -- approximate (IVF) indexes behind the same interface ---------------------------------------


def ivf_sql(n: int = 2000, seed: int = 0) -> Sql:
    ids = np.random.default_rng(seed + 1000).choice(100_000, size=n, replace=False)
    return Sql(ids, clustered(n, seed=seed), chunk=300)


def ivf_built(tmp_path: Path, sql: Sql) -> VectorIndex:
    policy = IndexPolicy(flat_max=500, sample_queries=200)
    raw, report = build_index(DIM, sql.load_vectors, len(sql.ids_), policy)
    assert report.accepted and report.kind.startswith("IVF")
    return VectorIndex(tmp_path / "vectors.faiss", DIM, raw, build_info={"n": report.n})


def test_ivf_index_keeps_upsert_remove_and_exclude_semantics(tmp_path: Path) -> None:
    sql = ivf_sql()
    index = ivf_built(tmp_path, sql)
    assert index.kind.startswith("IVF") and index.kind.endswith(",SQ8")
    np.testing.assert_array_equal(index.ids(), np.sort(sql.ids_))
    target, new_vector = int(sql.ids_[4]), clustered(1, seed=42)  # in the trained range
    index.add(np.array([target]), new_vector)
    assert len(index) == len(sql.ids_)
    best = index.search(new_vector, k=1)[0][0]
    assert best.id == target and best.score == pytest.approx(1.0, abs=0.01)  # SQ8 codes
    assert index.search(sql.vectors[4:5], k=1)[0][0].id != target  # old vector gone
    gone = sql.ids_[10:13]
    assert index.remove(np.append(gone, 999_999)) == 3
    assert not set(gone.tolist()) & set(index.ids().tolist())
    query = sql.vectors[20:21]
    hits = index.search(query, k=5, exclude={int(sql.ids_[20])})[0]
    assert len(hits) == 5 and int(sql.ids_[20]) not in {h.id for h in hits}


def test_ivf_large_k_probes_enough_lists_to_return_k_hits(tmp_path: Path) -> None:
    index = ivf_built(tmp_path, ivf_sql())
    k = len(index) // 2
    assert len(index.search(unit_vectors(1, seed=5), k=k)[0]) == k


def test_saved_ivf_index_reopens_without_rebuild_with_its_build_info(tmp_path: Path) -> None:
    sql = ivf_sql()
    index = ivf_built(tmp_path, sql)
    index.save()

    def must_not_rebuild() -> VectorIndex:
        raise AssertionError("the file agrees with SQL")

    reopened, rebuilt = VectorIndex.open(
        index.path, DIM, sql.expected_ids, sql.load_vectors, rebuild=must_not_rebuild
    )
    assert rebuilt is False
    assert reopened.kind == index.kind and reopened.build_info["n"] == len(sql.ids_)
    queries = sql.vectors[:5]
    assert as_pairs(reopened.search(queries, k=8)) == as_pairs(index.search(queries, k=8))


def test_ivf_file_with_other_ids_is_rebuilt_by_the_callers_policy(tmp_path: Path) -> None:
    sql = ivf_sql()
    ivf_built(tmp_path, sql).save()
    changed = Sql(sql.ids_[1:], sql.vectors[1:])
    calls = []

    def rebuild() -> VectorIndex:
        calls.append(1)
        return VectorIndex.build(tmp_path / "vectors.faiss", DIM, changed.load_vectors)

    index, rebuilt = VectorIndex.open(
        tmp_path / "vectors.faiss", DIM, changed.expected_ids, changed.load_vectors, rebuild=rebuild
    )
    assert rebuilt is True and calls == [1]
    assert index.kind == "flat"
    _assert_equals_sql(index, changed)


def test_refresh_picks_up_an_index_type_change_from_another_instance(tmp_path: Path) -> None:
    sql = ivf_sql()
    built(tmp_path, sql).save()
    reader, _ = VectorIndex.open(tmp_path / "vectors.faiss", DIM, sql.expected_ids, no_load)
    assert reader.kind == "flat"
    ivf_built(tmp_path, sql).save()
    assert reader.refresh() is True
    assert reader.kind.startswith("IVF") and reader.build_info["n"] == len(sql.ids_)


def no_load() -> Iterator[tuple[np.ndarray, np.ndarray]]:
    raise AssertionError("must load the file, not rebuild")


class LiveSql(Sql):
    """SQL that changes while a rebuild runs; load_by_ids answers from its current rows."""

    def load_by_ids(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = {int(i): p for p, i in enumerate(self.ids_)}
        keep = [int(i) for i in ids if int(i) in pos]
        return np.asarray(keep, dtype=np.int64), self.vectors[[pos[i] for i in keep]]


def test_rebuild_swaps_in_the_new_index_with_changes_made_during_the_build(
    tmp_path: Path,
) -> None:
    sql = LiveSql(ivf_sql().ids_, ivf_sql().vectors, chunk=300)
    index = built(tmp_path, sql)
    policy = IndexPolicy(flat_max=500, sample_queries=200)
    answered = []

    def build():
        raw, report = build_index(DIM, sql.load_vectors, len(sql.ids_), policy)
        # meanwhile: the old index answers, and SQL + index change (as ingest does)
        answered.append(len(index.search(sql.vectors[:3], k=10)[0]))
        new_ids = np.arange(200_000, 200_050)
        new_vectors = clustered(50, seed=9)
        sql.ids_ = np.concatenate([sql.ids_[5:], new_ids])
        sql.vectors = np.vstack([sql.vectors[5:], new_vectors])
        index.add(new_ids, new_vectors)
        index.remove(ivf_sql().ids_[:5])
        answered.append(len(index.search(new_vectors[:1], k=10)[0]))
        return raw, {"n": report.n}

    assert not index.rebuilding
    index.rebuild_with(build, sql.load_by_ids)
    assert answered == [10, 10]
    assert index.kind.startswith("IVF") and not index.rebuilding
    np.testing.assert_array_equal(index.ids(), np.sort(sql.ids_))
    hit = index.search(sql.vectors[-1:], k=1)[0][0]
    assert hit.id == 200_049


def test_a_failed_rebuild_leaves_the_index_as_it_was(tmp_path: Path) -> None:
    sql = make_sql(40)
    index = built(tmp_path, sql)

    def build():
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        index.rebuild_with(build, lambda ids: (ids, np.empty((0, DIM), np.float32)))
    assert index.kind == "flat" and not index.rebuilding
    _assert_equals_sql(index, sql)

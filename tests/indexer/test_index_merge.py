"""Specifications for several writers and readers of one index file: whoever saves last writes
what SQL says (nobody's vectors dropped, re-embedded vectors kept), and a reader's refresh
serves SQL's set without writing. The processes are stood in for by separate VectorIndex
objects (each loads the file itself, as a process does); test_index_concurrency.py runs the
same scenarios with real `vitrieve` processes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.support import assert_serves, filled, unit_vectors
from vitrieve.indexer.index import files as index_file
from vitrieve.indexer.index import policy as index_factory
from vitrieve.indexer.index.lock import index_lock
from vitrieve.indexer.index.memory import all_ids

REPO_ROOT = Path(__file__).resolve().parents[2]


def file_ids(path: Path) -> np.ndarray:
    """The ids in the file as saved (verified), not through an index object."""
    loaded = index_file.read_index(path, 16)
    assert loaded is not None
    return np.sort(all_ids(loaded.index))


def ingest(sql, index, ids, seed: int) -> None:
    """What an ingest batch does: commit the vectors to SQL, then add them to its index."""
    vectors = unit_vectors(len(ids), seed=seed)
    sql.put(ids, vectors)
    index.add(np.asarray(ids), vectors)


def test_two_writers_saving_in_turn_keep_each_others_vectors(tmp_path: Path) -> None:
    sql = filled(10)
    path = tmp_path / "vectors.faiss"
    first, _ = sql.open(path)
    second, rebuilt = sql.open(path)
    assert rebuilt is False
    ingest(sql, first, np.arange(100, 120), seed=1)
    ingest(sql, second, np.arange(200, 220), seed=2)
    assert first.save() and second.save()  # second saves last, holding none of first's work
    np.testing.assert_array_equal(file_ids(path), sql.expected_ids())
    reopened, rebuilt = sql.open(path)
    assert rebuilt is False
    assert_serves(reopened, sql)
    assert_serves(second, sql)  # the saver's own memory is what it wrote


def test_the_last_saver_keeps_a_vector_another_writer_re_embedded(tmp_path: Path) -> None:
    sql = filled(10)
    path = tmp_path / "vectors.faiss"
    first, _ = sql.open(path)
    second, _ = sql.open(path)
    ingest(sql, first, [3], seed=50)  # the file behind id 3 changed: a new vector
    assert first.save()
    ingest(sql, second, [300], seed=51)  # second still holds id 3's old vector
    assert second.save()
    reopened, rebuilt = sql.open(path)
    assert rebuilt is False
    assert_serves(reopened, sql)  # id 3 with its new vector, 300 too


def test_a_save_drops_what_sql_removed_and_adds_what_only_sql_has(tmp_path: Path) -> None:
    sql = filled(20)
    path = tmp_path / "vectors.faiss"
    index, _ = sql.open(path)
    sql.delete([4, 5])  # another process removed them (a root, a quarantine) and died
    sql.put([500], unit_vectors(1, seed=7))  # and committed a vector it never saved
    ingest(sql, index, [600], seed=8)
    assert index.save()
    reopened, rebuilt = sql.open(path)
    assert rebuilt is False
    assert_serves(reopened, sql)


def test_a_reader_refresh_serves_what_sql_committed_after_the_last_save(tmp_path: Path) -> None:
    sql = filled(10)
    path = tmp_path / "vectors.faiss"
    reader, _ = sql.open(path)  # a long-running UI
    writer, _ = sql.open(path)
    ingest(sql, writer, np.arange(100, 110), seed=3)
    assert writer.save()
    ingest(sql, writer, np.arange(110, 115), seed=4)  # committed, not saved yet (30 s cadence)
    sql.delete([2])
    on_disk = (path.stat().st_mtime_ns, path.read_bytes())
    assert reader.refresh() is True
    assert_serves(reader, sql)
    assert (path.stat().st_mtime_ns, path.read_bytes()) == on_disk  # a reader never writes
    assert reader.refresh() is False  # nothing new: no reload, no SQL query
    assert writer.save()
    assert reader.refresh() is True
    assert_serves(reader, sql)


def test_a_reader_keeps_serving_when_the_new_file_is_damaged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sql = filled(10)
    path = tmp_path / "vectors.faiss"
    reader, _ = sql.open(path)
    writer, _ = sql.open(path)
    ingest(sql, writer, np.arange(100, 105), seed=5)
    assert writer.save()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="vitrieve.indexer.index.files"):
        assert reader.refresh() is True  # topped up from SQL instead
        assert reader.refresh() is False  # the same damaged file is not re-read per search
    assert_serves(reader, sql)
    assert len([r for r in caplog.records if "checksum" in r.getMessage()]) == 1
    ingest(sql, writer, [106], seed=6)
    assert writer.save()  # the next save replaces the damaged file
    reopened, rebuilt = sql.open(path)
    assert rebuilt is False
    assert_serves(reopened, sql)


def test_an_in_memory_rebuild_is_not_replaced_by_an_older_file(tmp_path: Path) -> None:
    sql = filled(30)
    path = tmp_path / "vectors.faiss"
    index, _ = sql.open(path)
    other, _ = sql.open(path)
    index.rebuild_with(lambda: (_flat(sql), {"kind": "flat"}), sql.load_by_ids)
    ingest(sql, other, [900], seed=9)
    assert other.save()
    index.refresh()  # must not swap the fresh build for the file: only top it up
    assert_serves(index, sql)
    assert index.save()
    assert_serves(sql.open(path)[0], sql)


def _flat(sql):
    return index_factory.build_flat(16, sql.load_vectors)


HOLD_LOCK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from vitrieve.indexer.index.lock import index_lock

    with index_lock(Path(sys.argv[1])):
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


def test_a_save_waits_for_another_process_holding_the_writer_lock(tmp_path: Path) -> None:
    sql = filled(5)
    path = tmp_path / "vectors.faiss"
    index, _ = sql.open(path)
    ingest(sql, index, [50], seed=1)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as holder:
        assert holder.stdout.readline().strip() == "locked"
        before = path.stat().st_mtime_ns
        saving = threading.Thread(target=index.save)
        saving.start()
        saving.join(1.0)
        waited = saving.is_alive() and path.stat().st_mtime_ns == before
        holder.communicate("release\n", timeout=60)
        saving.join(60)
    assert waited, "the save did not wait for the lock"
    assert not index.unsaved
    assert_serves(sql.open(path)[0], sql)


def test_the_lock_is_reentrant_within_a_thread_and_shared_by_threads(tmp_path: Path) -> None:
    """A worker task holds the lock while save() inside takes it again; a background rebuild
    thread saving meanwhile waits instead of deadlocking on its own process's flock."""
    sql = filled(5)
    index, _ = sql.open(tmp_path / "vectors.faiss")
    ingest(sql, index, [60], seed=2)
    order: list[str] = []
    with index_lock(tmp_path):
        assert index.save()  # re-entrant: no deadlock
        ingest(sql, index, [61], seed=3)
        other = threading.Thread(target=lambda: (index.save(), order.append("thread saved")))
        other.start()
        other.join(0.5)
        order.append("task done")
    other.join(60)
    assert order == ["task done", "thread saved"]
    assert_serves(sql.open(tmp_path / "vectors.faiss")[0], sql)


def test_only_changes_of_its_own_start_a_rebuild_check_not_top_ups_from_sql(
    tmp_path: Path,
) -> None:
    """A reader (the UI) tops up from SQL on refresh; that must not make it rebuild the index
    (train an IVF) next to the writer: only processes that change the index rebuild."""
    sql = filled(10)
    path = tmp_path / "vectors.faiss"
    reader, _ = sql.open(path)
    checks: list[int] = []
    reader.on_change = lambda index: checks.append(len(index))
    writer, _ = sql.open(path)
    ingest(sql, writer, np.arange(100, 140), seed=4)
    assert writer.save()
    sql.put([500], unit_vectors(1, seed=5))
    assert reader.refresh() and len(reader) == 51
    assert checks == []
    ingest(sql, reader, [600], seed=6)
    assert checks == [52]

"""Specifications for the index file as a verified cache: anything that cannot be verified
(sidecar, checksum, size, count) means "rebuild from SQL", and good files are never rewritten."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import faiss
import numpy as np
import pytest

from tests.support import DIM, assert_serves, filled, unit_vectors
from vitrieve.indexer.index import files as index_file
from vitrieve.indexer.index.lock import LOCK_NAME
from vitrieve.indexer.index.memory import all_ids

REPO_ROOT = Path(__file__).resolve().parents[2]


def saved(tmp_path: Path, n: int = 30):
    sql = filled(n)
    index, rebuilt = sql.open(tmp_path / "vectors.faiss")
    assert rebuilt and index.path.exists()
    return sql, index


def snapshot(*paths: Path) -> list[tuple[int, int, bytes]]:
    return [(p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in paths]


def reopen_rebuilds(sql, path: Path, caplog: pytest.LogCaptureFixture, why: str) -> None:
    """Opening rebuilds from SQL with a warning naming the file, saves a valid pair, and the
    next open trusts it."""
    loads = sql.vector_loads
    with caplog.at_level(logging.WARNING, logger="vitrieve.indexer.index.files"):
        index, rebuilt = sql.open(path)
    assert rebuilt is True and sql.vector_loads == loads + 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(str(path) in w and why in w for w in warnings), warnings
    assert_serves(index, sql)
    again, rebuilt_again = sql.open(path)
    assert rebuilt_again is False
    assert_serves(again, sql)


def _with(meta: str, **changes) -> str:
    return json.dumps({**json.loads(meta), **changes})


def _raw(meta: str, key: str, literal: str) -> str:
    """Replace a value with text json.dumps would never write (1e400, NaN)."""
    return re.sub(rf'"{key}": [^,}}]+', f'"{key}": {literal}', meta)


SIDECARS = {
    "generation 1e400": lambda m: _raw(m, "generation", "1e400"),
    "negative generation": lambda m: _with(m, generation=-3),
    "generation as text": lambda m: _with(m, generation="7"),
    "generation true": lambda m: _with(m, generation=True),
    "NaN saved_at": lambda m: _raw(m, "saved_at", "NaN"),
    "wrong count": lambda m: _with(m, count=json.loads(m)["count"] + 1),
    "other checksum": lambda m: _with(m, checksum="0" * 32),
    "no checksum": lambda m: json.dumps(
        {k: v for k, v in json.loads(m).items() if k != "checksum"}
    ),
    "future format": lambda m: _with(m, format=2),
    "a JSON list": lambda m: "[1, 2, 3]",
    "garbage bytes": lambda m: "\x00\xff garbage {{{",
    "empty": lambda m: "",
}


@pytest.mark.parametrize("damage", list(SIDECARS))
def test_a_sidecar_that_cannot_be_trusted_means_rebuild(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    sql, index = saved(tmp_path)
    meta = index.meta_path
    meta.write_bytes(SIDECARS[damage](meta.read_text()).encode("latin-1"))
    why = "checksum" if damage == "other checksum" else "sidecar"
    if damage == "wrong count":
        why = "sidecar says"
    reopen_rebuilds(sql, index.path, caplog, why)
    assert index_file.read_sidecar(index.path) is not None


def test_a_missing_sidecar_means_rebuild(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sql, index = saved(tmp_path)
    index.meta_path.unlink()
    reopen_rebuilds(sql, index.path, caplog, "sidecar")


def test_flipped_bytes_in_the_vector_region_are_detected_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sql, index = saved(tmp_path)
    data = bytearray(index.path.read_bytes())
    target = sql.vectors([5])[0]
    at = data.find(target.tobytes())
    assert at > 0, "the stored vector is in the file as float32"
    data[at + 4 * 3 + 3] ^= 0x40  # the exponent byte of component 3: a very different vector
    index.path.write_bytes(bytes(data))
    raw = faiss.read_index(str(index.path))  # FAISS itself reads it fine, same ids:
    np.testing.assert_array_equal(np.sort(all_ids(raw)), sql.expected_ids())
    assert index_file.read_sidecar(index.path).size == len(data)  # same size too
    reopen_rebuilds(sql, index.path, caplog, "checksum")


@pytest.mark.parametrize("damage", ["truncated", "trailing bytes", "another valid index"])
def test_a_file_that_is_not_the_one_saved_is_detected(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    sql, index = saved(tmp_path)
    data = index.path.read_bytes()
    if damage == "truncated":
        index.path.write_bytes(data[: len(data) // 2])
    elif damage == "trailing bytes":
        index.path.write_bytes(data + b"\x00" * 8)
    else:  # same ids, other vectors, a perfectly readable FAISS file
        other = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
        other.add_with_ids(unit_vectors(30, seed=99), sql.expected_ids())
        faiss.write_index(other, str(index.path))
    why = "unreadable" if damage == "truncated" else "checksum"
    reopen_rebuilds(sql, index.path, caplog, why)


def test_opening_a_good_file_writes_nothing_and_a_save_with_no_changes_is_skipped(
    tmp_path: Path,
) -> None:
    sql, index = saved(tmp_path)
    before = snapshot(index.path, index.meta_path)
    reopened, rebuilt = sql.open(index.path)
    assert rebuilt is False and not reopened.unsaved
    assert reopened.save() is False
    assert reopened.refresh() is False
    reopened.remove(np.array([123_456]))  # not held: changes nothing
    assert reopened.save() is False
    assert snapshot(index.path, index.meta_path) == before
    reopened.remove(np.array([1]))
    sql.delete([1])
    assert reopened.save() is True
    assert snapshot(index.path, index.meta_path) != before


def test_saved_files_are_readable_by_other_users(tmp_path: Path) -> None:
    """mkstemp makes 0600 files; a UI running as another user must still read the index."""
    _, index = saved(tmp_path)
    for path in (index.path, index.meta_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


HALF_SAVE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import faiss, numpy as np
    from vitrieve.indexer.index import files as index_file
    from vitrieve.indexer.index.lock import index_lock

    path = Path(sys.argv[1])
    new = faiss.IndexIDMap2(faiss.IndexFlatIP(16))
    v = np.random.default_rng(5).standard_normal((40, 16)).astype("float32")
    new.add_with_ids(v / np.linalg.norm(v, axis=1, keepdims=True), np.arange(1, 41))
    old_meta = index_file.meta_path(path).read_bytes()
    with index_lock(path.parent):
        index_file.write_index(path, new, 99, {"kind": "flat"})
        done_meta = index_file.meta_path(path).read_bytes()
        index_file.meta_path(path).write_bytes(old_meta)  # as if stopped between the two renames
        print("half", flush=True)
        sys.stdin.readline()
        index_file.meta_path(path).write_bytes(done_meta)
    """
)


def test_a_reader_that_sees_a_new_file_before_its_sidecar_waits_for_the_writer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Between the index rename and the sidecar rename, the pair looks damaged; a reader must
    not rebuild or give up then, but re-check under the shared lock, which waits for the writer."""
    _, reader = saved(tmp_path, n=30)
    reader.source = None  # read the file as it is: this test is about the file pair only
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", HALF_SAVE, str(reader.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as writer:
        assert writer.stdout.readline().strip() == "half"
        result: list[bool] = []
        with caplog.at_level(logging.WARNING):
            refreshing = threading.Thread(target=lambda: result.append(reader.refresh()))
            refreshing.start()
            refreshing.join(1.0)
            blocked = refreshing.is_alive()
            writer.communicate("go\n", timeout=60)
            refreshing.join(60)
    assert writer.returncode == 0
    assert blocked, "the reader did not wait for the writer's lock"
    assert result == [True] and len(reader) == 40 and reader.generation == 99
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert (tmp_path / LOCK_NAME).exists()

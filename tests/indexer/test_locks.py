"""Catalog locks exclude other processes and threads, and die with their holder: a command
killed with SIGKILL never leaves a lock that blocks the next one (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from vitrieve.core.db import make_engine
from vitrieve.core.locks import CatalogLock, catalog_lock

HOLDER = """
import sys, time
from vitrieve.core.db import make_engine
from vitrieve.core.locks import CatalogLock
lock = CatalogLock(make_engine(sys.argv[1]), sys.argv[2])
assert lock.acquire(blocking=False)
print("held", flush=True)
time.sleep(600)
"""


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def hold_in_another_process(url: str, name: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, name],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_lock_held_by_a_killed_process_is_free_at_once(engine, database_url):
    for _trial in range(3):
        holder = hold_in_another_process(database_url, "roots")
        try:
            mine = CatalogLock(engine, "roots")
            assert mine.acquire(blocking=False) is False
            other = CatalogLock(engine, "root-1")
            assert other.acquire(blocking=False) is True  # other names are independent
            other.release()
        finally:
            holder.kill()  # SIGKILL: no cleanup runs in the holder
            holder.wait()
        with catalog_lock(engine, "roots"):  # would hang if the lock outlived its holder
            assert CatalogLock(engine, "roots").acquire(blocking=False) is False


def test_a_waiting_thread_is_told_and_gets_the_lock_once_it_is_released(engine):
    told, order = threading.Event(), []
    first = CatalogLock(engine, "migrate")
    assert first.acquire()

    def second() -> None:
        with catalog_lock(engine, "migrate", on_wait=told.set):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    assert told.wait(30)  # it found the lock busy and said so before waiting
    order.append("first")
    first.release()
    thread.join(30)
    assert order == ["first", "second"]


def test_sqlite_lock_files_live_next_to_the_catalog(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'cat.db'}")
    with catalog_lock(engine, "migrate"):
        assert (tmp_path / "cat.db.locks" / "migrate.lock").exists()
    engine.dispose()

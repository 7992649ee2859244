"""Named locks shared by every vitrieve process (and thread) on one catalog.

Two commands on one catalog must not both migrate it, reconcile one root, embed one root's
pending images or move the same duplicates. Each of those holds a named lock:

- PostgreSQL: a session-level advisory lock (`pg_advisory_lock`) on a connection of its own,
  so it works across machines;
- SQLite: `flock` on a file in `<catalog>.locks/` next to the database file (an SQLite catalog
  lives on one machine).

Both are released by the server or the kernel when their holder dies, so a command killed with
SIGKILL never leaves a stale lock behind: the next one simply gets it. Neither is re-entrant:
a thread must not take a lock it already holds.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

# In-memory SQLite is private to one process: a lock per name in this process is enough.
_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()
# PostgreSQL locks hold a connection each, opened apart from the catalog's pool so that an
# ingest of many roots cannot exhaust it.
_lock_engines: dict[str, Engine] = {}


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (advisory locks are keyed by bigint)."""
    digest = hashlib.blake2b(f"vitrieve:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_dir(engine: Engine) -> Path | None:
    """Where an SQLite catalog's lock files live; None for in-memory SQLite and PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    path = Path(database).expanduser().resolve()
    return path.with_name(path.name + ".locks")


class CatalogLock:
    """One named lock on one catalog; `acquire(blocking=False)` tries without waiting."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self._conn: Connection | None = None
        self._fd: int | None = None
        self._local: threading.Lock | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._fd is not None or self._local is not None

    def acquire(self, blocking: bool = True) -> bool:
        if self.held:
            raise RuntimeError(f"lock {self.name!r} is already held by this object")
        if self.engine.dialect.name == "postgresql":
            return self._acquire_pg(blocking)
        folder = lock_dir(self.engine)
        if folder is None:
            return self._acquire_local(blocking)
        return self._acquire_file(folder, blocking)

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(self.name)})
            except Exception:
                conn.invalidate()  # closing the session releases the lock server-side
                raise
            finally:
                conn.close()
        elif self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor drops the flock
        elif self._local is not None:
            local, self._local = self._local, None
            local.release()

    def _acquire_pg(self, blocking: bool) -> bool:
        conn = _lock_engine(self.engine).connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            key = {"k": advisory_key(self.name)}
            if blocking:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), key)
                got = True
            else:
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), key).scalar())
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def _acquire_file(self, folder: Path, blocking: bool) -> bool:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / f"{self.name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def _acquire_local(self, blocking: bool) -> bool:
        with _local_guard:
            lock = _local_locks.setdefault(self.name, threading.Lock())
        if not lock.acquire(blocking):
            return False
        self._local = lock
        return True

    def __enter__(self) -> CatalogLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock_engine(engine: Engine) -> Engine:
    key = engine.url.render_as_string(hide_password=False)
    with _local_guard:
        if key not in _lock_engines:
            _lock_engines[key] = create_engine(engine.url, poolclass=NullPool)
        return _lock_engines[key]


@contextmanager
def catalog_lock(
    engine: Engine, name: str, on_wait: Callable[[], None] | None = None
) -> Iterator[CatalogLock]:
    """Holds lock `name`; when another process has it, calls `on_wait` once, then waits."""
    lock = CatalogLock(engine, name)
    if not lock.acquire(blocking=False):
        if on_wait is not None:
            on_wait()
        lock.acquire()
    try:
        yield lock
    finally:
        lock.release()

"""The one lock every writer of an index folder takes: processes and threads alike.

Index files are replaced whole (atomic rename), so two writers cannot corrupt a file, but they
can lose each other's vectors: each saves what it holds, and the last rename wins. Every save
therefore runs under this lock and first makes its index agree with SQL, so whoever saves last
writes what SQL says (`VectorIndex.save`).

An `flock` on a file in the index folder serialises processes (the kernel drops it when a
process dies, so kill -9 never leaves a stale lock). `flock` locks belong to an open file, so a
second open in the same process would deadlock against the first: within a process the lock
is therefore re-entrant per thread (an `RLock` per folder), and only the outermost holder
opens and locks the file. A writer can thus hold it across a whole step (the worker's index
task, `roots remove`) while `save()` inside takes it again.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vitrieve.core.errors import VitrieveError

LOCK_NAME = ".writer.lock"


class IndexWriteError(VitrieveError):
    """The index folder or file cannot be written (read-only data directory, disk full...)."""


class _FolderLock:
    def __init__(self) -> None:
        self.rlock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


_locks: dict[Path, _FolderLock] = {}
_locks_guard = threading.Lock()


def _folder_lock(index_dir: Path) -> _FolderLock:
    key = Path(os.path.abspath(index_dir))
    with _locks_guard:
        return _locks.setdefault(key, _FolderLock())


def unwritable(path: Path, exc: OSError) -> IndexWriteError:
    """One line naming the path that could not be written and why."""
    return IndexWriteError(f"cannot write the vector index at {path}: {exc.strerror or exc}")


@contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive lock on the index folder for changing its files; re-entrant per thread.

    Raises IndexWriteError (naming the folder) when the lock file cannot be created, which is
    also the first sign of a read-only data directory.
    """
    index_dir = Path(index_dir)
    lock = _folder_lock(index_dir)
    with lock.rlock:
        if lock.depth == 0:
            try:
                index_dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(index_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise unwritable(index_dir, exc) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            lock.fd = fd
        lock.depth += 1
        try:
            yield
        finally:
            lock.depth -= 1
            if lock.depth == 0 and lock.fd is not None:
                fd, lock.fd = lock.fd, None
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


@contextmanager
def shared_index_lock(index_dir: Path) -> Iterator[bool]:
    """Waits until no writer is between writing an index file and its sidecar; yields whether
    the lock was taken. Readers use it only to re-check a file that failed verification, and
    go on without it where the lock file cannot be opened (a read-only folder nobody writes).
    """
    lock = _folder_lock(Path(index_dir))
    with lock.rlock:
        if lock.depth:  # this thread is the writer: nobody else is mid-save
            yield True
            return
        try:
            fd = os.open(Path(index_dir) / LOCK_NAME, os.O_RDONLY)
        except OSError:
            yield False
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield True
        finally:
            os.close(fd)  # closing releases the flock

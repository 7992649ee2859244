"""The index writer: the one process that applies vectors and deletions to the FAISS file.

It keeps the index in memory between tasks and saves atomically (readers `refresh()`), but not
after every batch: while more embedded batches are waiting it saves at most every
SAVE_EVERY_S, and always when a job completes or nothing is waiting, so the file is current
whenever the queue is idle. SQL is the truth: when the file changes under the writer (another
process saved it) or when asked to (`sync`), the in-memory index is reconciled with SQL, so a
lost message or a crash costs a diff, never a wrong index.

A file lock in the index folder serialises writers that share it (a second `index` consumer by
mistake, `vitrieve roots remove`), so their saves cannot interleave.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from indexer.catalog import searchable_ids
from indexer.ingest import SAVE_EVERY_S, add_from_sql
from indexer.library import Library
from indexer.vector_index import VectorIndex
from worker import jobs

log = logging.getLogger(__name__)


@contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive advisory lock held while changing the index file (released if we die)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".writer.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class IndexWriter:
    def __init__(self, lib: Library) -> None:
        self.lib = lib
        self._index: VectorIndex | None = None
        self.dirty = False
        self.last_save = time.monotonic()

    @contextmanager
    def locked(self) -> Iterator[VectorIndex]:
        with index_lock(self.lib.settings.index_dir):
            yield self._current()

    def _current(self) -> VectorIndex:
        if self._index is None:
            self._index = self.lib.index()  # checked against SQL, rebuilt on any difference
            self.dirty, self.last_save = False, time.monotonic()
        elif self._index.refresh():
            # Someone else saved: their file may lack what we applied (or they removed ids).
            log.info("index file changed by another process; reconciling with SQL")
            self.dirty = False
            self.sync()
        return self._index

    def add(self, ids: Sequence[int]) -> int:
        added = add_from_sql(self.lib, self._index, list(ids))
        self.dirty = True
        return added

    def remove(self, ids: Sequence[int]) -> int:
        removed = self._index.remove(np.asarray(list(ids), dtype=np.int64))
        self.dirty = True
        return removed

    def sync(self) -> tuple[int, int]:
        """Makes the in-memory index hold exactly SQL's searchable set; returns (added, removed)."""
        model = self.lib.model_row
        with self.lib.sessions() as session:
            want = searchable_ids(session, model.id)
        have = self._index.ids()
        extra = np.setdiff1d(have, want, assume_unique=True)
        missing = np.setdiff1d(want, have, assume_unique=True)
        if extra.size:
            self._index.remove(extra)
        if missing.size:
            add_from_sql(self.lib, self._index, missing.tolist())
        if extra.size or missing.size:
            self.dirty = True
            log.info("index sync: %d added, %d removed", missing.size, extra.size)
        return int(missing.size), int(extra.size)

    def maybe_save(self, force: bool = False) -> bool:
        if not self.dirty:
            return False
        if not force and time.monotonic() - self.last_save < SAVE_EVERY_S:
            with self.lib.sessions() as session:
                if jobs.waiting_batches(session):
                    return False  # more batches are coming: save once for several
        self._index.save()
        self.dirty, self.last_save = False, time.monotonic()
        return True

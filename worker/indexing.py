"""The index writer: the one process that applies vectors and deletions to the FAISS file.

It keeps the index in memory between tasks and saves atomically (readers `refresh()`), but not
after every batch: while more embedded batches are waiting it saves at most every
SAVE_EVERY_S, and always when a job completes or nothing is waiting, so the file is current
whenever the queue is idle. SQL is the truth: when the file changes under the writer (another
process saved it) or when asked to (`sync`), the in-memory index is reconciled with SQL, so a
lost message or a crash costs a diff, never a wrong index.

Each task runs under the index folder's writer lock (`indexer.index.lock`), the one every
writer takes (in-process ingest, quarantine, `roots remove`, rebuilds), so saves never
interleave, and each save first merges with SQL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from vitrieve.indexer.index.lock import index_lock
from vitrieve.indexer.index.store import VectorIndex
from vitrieve.indexer.ingest import SAVE_EVERY_S, add_from_sql
from vitrieve.indexer.library import Library
from vitrieve.worker import jobs

log = logging.getLogger(__name__)


class IndexWriter:
    def __init__(self, lib: Library) -> None:
        self.lib = lib
        self._index: VectorIndex | None = None
        self.last_save = time.monotonic()

    @property
    def dirty(self) -> bool:
        """The in-memory index holds changes its file lacks."""
        return self._index is not None and self._index.unsaved

    @contextmanager
    def locked(self) -> Iterator[VectorIndex]:
        with index_lock(self.lib.settings.index_dir):
            yield self._current()

    def _current(self) -> VectorIndex:
        if self._index is None:
            self._index = self.lib.index()  # checked against SQL, rebuilt on any difference
            self.last_save = time.monotonic()
        elif self._index.refresh():
            # Someone else saved: their file became the base, with our unsaved changes
            # replayed onto it and its ids made SQL's.
            log.info("index file changed by another process; merged with SQL")
        return self._index

    def add(self, ids: Sequence[int]) -> int:
        assert self._index is not None  # called inside locked(), which opened it
        return add_from_sql(self.lib, self._index, list(ids))

    def remove(self, ids: Sequence[int]) -> int:
        assert self._index is not None  # called inside locked(), which opened it
        return self._index.remove(np.asarray(list(ids), dtype=np.int64))

    def sync(self) -> tuple[int, int]:
        """Makes the in-memory index hold exactly SQL's searchable set; returns (added, removed)."""
        assert self._index is not None  # called inside locked(), which opened it
        return self._index.sync_with_sql()

    def maybe_save(self, force: bool = False) -> bool:
        if not self.dirty:
            return False
        if not force and time.monotonic() - self.last_save < SAVE_EVERY_S:
            with self.lib.sessions() as session:
                if jobs.waiting_batches(session):
                    return False  # more batches are coming: save once for several
        assert self._index is not None  # dirty means it is open
        saved = self._index.save()
        self.last_save = time.monotonic()
        return saved

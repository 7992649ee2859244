"""FAISS vector index whose file on disk is a derived cache of SQL.

SQL is the source of truth, vectors included. The index file only exists so that start-up
does not have to re-add every vector: it is verified (`indexer.index.files`: checksum, count,
dimension) and compared with the ids SQL expects when opened, and rebuilt from SQL whenever
either check fails. This module knows nothing about SQL: callers hand in loader callables.

Several processes may write one index (two ingests, the worker's index writer, quarantine,
`roots remove`). Every save runs under the folder's writer lock (`indexer.index.lock`) and,
first, merges: when another process saved since this index was loaded, its file becomes the
base and this process's own changes are replayed onto it from SQL; then the id set is made
equal to SQL's. So whoever saves last writes what SQL says, and nobody's vectors are dropped.
A reader's `refresh()` does the same merge in memory when the file changes, so a long-running
UI serves everything SQL has, without writing.

The in-memory structure (upsert, search, rebuilding while answering) is
`indexer.index.memory.MemoryIndex`; this module adds the file and SQL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vitrieve.indexer.index import files, policy
from vitrieve.indexer.index.checks import check_ids
from vitrieve.indexer.index.lock import IndexWriteError, index_lock
from vitrieve.indexer.index.memory import (
    ByIdsLoader,
    MemoryIndex,
    SearchHit,
    all_ids,
    diff_ids,
    replay,
)
from vitrieve.indexer.index.spotcheck import SAMPLE, foreign_vectors

__all__ = ["SearchHit", "SqlSource", "VectorIndex"]

log = logging.getLogger(__name__)

IdsLoader = Callable[[], np.ndarray]
"""Returns the int64 ids that SQL says must be in the index."""
VectorsLoader = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
"""Streams chunks of (int64 ids, float32 vectors [n, dim]) from SQL."""

_FileState = tuple[files.Signature | None, int]  # (signature, sidecar generation)
_warned: set[Path] = set()


@dataclass(frozen=True, slots=True)
class SqlSource:
    """How an index reaches the truth: SQL's searchable ids, and vectors for some ids."""

    expected_ids: IdsLoader
    load_by_ids: ByIdsLoader


def _warn_once(path: Path, message: str, *args: object) -> None:
    if path not in _warned:
        _warned.add(path)
        log.warning(message, *args)


class VectorIndex(MemoryIndex):
    """A MemoryIndex backed by a verified index file, saved atomically and kept equal to SQL.

    `source` (SQL) makes saves and refreshes merge with SQL; without one (tests, tools) the
    index is saved as it is and a refresh simply loads the newer file.
    """

    def __init__(
        self,
        path: Path,
        dim: int,
        index: Any,
        generation: int = 0,
        *,
        build_info: dict | None = None,
        use_gpu: bool = False,
        source: SqlSource | None = None,
    ) -> None:
        super().__init__(dim, index, build_info=build_info, use_gpu=use_gpu)
        self.path = Path(path)
        self.source = source
        self._io = threading.RLock()  # one merge/save/refresh at a time in this process
        self._generation = generation
        self._base: files.Signature | None = None  # the file this index was loaded from
        self._seen: _FileState = (None, -1)  # the file state refresh last looked at
        self._unsaved = True  # differs from the file (built in memory, or changed since)
        self._pending: list[np.ndarray] = []  # ids changed by add/remove since the base file

    @classmethod
    def _from_file(cls, path: Path, dim: int, loaded: files.LoadedFile, **kw) -> VectorIndex:
        sidecar = loaded.sidecar
        opened = cls(path, dim, loaded.index, sidecar.generation, build_info=sidecar.build, **kw)
        opened._based_on(loaded)
        return opened

    @classmethod
    def open(
        cls,
        path: Path,
        dim: int,
        expected_ids: IdsLoader,
        load_vectors: VectorsLoader,
        *,
        load_by_ids: ByIdsLoader | None = None,
        rebuild: Callable[[], VectorIndex] | None = None,
        use_gpu: bool = False,
    ) -> tuple[VectorIndex, bool]:
        """Load the file when it verifies and agrees with SQL exactly; otherwise rebuild from
        SQL and save.

        Any doubt (missing, damaged, bad sidecar, wrong dim, different id set, or, with
        `load_by_ids`, sampled vectors that are not SQL's: `index.spotcheck`) means rebuild,
        because the file is only a cache and serving stale or foreign vectors is worse than
        waiting. Opening a good file writes nothing. `rebuild` (default: an exact index from
        `load_vectors`) lets the caller apply its index policy; it returns an unsaved index.
        With `load_by_ids`, saves and refreshes merge with SQL (see the module docstring).
        When the rebuilt index cannot be saved (read-only data directory), it is served from
        memory with one warning naming the path.
        """
        path = Path(path)
        source = SqlSource(expected_ids, load_by_ids) if load_by_ids is not None else None
        loaded = files.read_index(path, dim)
        if loaded is not None:
            have, want = all_ids(loaded.index), check_ids(expected_ids())
            foreign = 0
            if diff_ids(have, want).agrees:
                if load_by_ids is not None:
                    seed = int(loaded.sidecar.checksum[:16], 16)
                    foreign = foreign_vectors(loaded.index, have, load_by_ids, seed)
                if not foreign:
                    return cls._from_file(path, dim, loaded, use_gpu=use_gpu, source=source), False
                log.warning(
                    "index %s holds vectors that are not SQL's (%d of %d checked); rebuilding",
                    *(path, foreign, min(SAMPLE, have.size)),
                )
            else:
                n_have, n_want = have.size, want.size
                log.warning("index %s != SQL ids (%d vs %d); rebuilding", path, n_have, n_want)
        elif not path.exists():
            log.info("index %s does not exist; building from SQL", path)
        built = rebuild() if rebuild is not None else cls.build(path, dim, load_vectors)
        built._use_gpu = use_gpu and policy.gpu_available()
        built.source = source
        built._generation = max(built._generation, files.current_generation(path))
        try:
            built.save()
        except IndexWriteError as exc:
            _warn_once(path, "%s; serving the index rebuilt from SQL in memory", exc)
        return built, True

    @classmethod
    def build(cls, path: Path, dim: int, load_vectors: VectorsLoader) -> VectorIndex:
        """Build an exact index in memory from streamed chunks (memory: the index plus one
        chunk); not saved. Duplicate ids, impossible for a SQL primary key, are rejected."""
        index = policy.build_flat(dim, load_vectors)
        return cls(path, dim, index, build_info={"kind": "flat", "n": int(index.ntotal)})

    @property
    def generation(self) -> int:
        """Increases on every save; other processes compare it (via refresh) to see updates."""
        return self._generation

    @property
    def meta_path(self) -> Path:
        return files.meta_path(self.path)

    @property
    def unsaved(self) -> bool:
        """This index holds something its file does not: `save()` would write."""
        return self._unsaved

    # -- the file, merged with SQL -----------------------------------------------------------

    def save(self) -> bool:
        """Write the index and its sidecar atomically, under the writer lock, if anything is
        unsaved; returns whether it wrote.

        Under the lock, the merge comes first: if another process replaced the file since this
        index was loaded or saved, that file becomes the base with this process's own changes
        replayed onto it from SQL; then the id set is made SQL's (`sync_with_sql`). With nothing
        unsaved nothing is written, so commands that change nothing leave the file alone.
        Raises IndexWriteError (one line naming the path) when the folder cannot be written.
        """
        with index_lock(self.path.parent), self._io:
            if not self._unsaved:
                return False
            if self.source is not None:
                if self._base is not None and self._file_state() != (self._base, self._generation):
                    loaded = files.read_index(self.path, self.dim)
                    if loaded is not None:  # a damaged file is simply overwritten
                        self._adopt(loaded)
                self.sync_with_sql()
            with self._lock:
                generation = max(self._generation, files.current_generation(self.path)) + 1
                info = {**self._build_info, "kind": policy.kind_of(self._index)}
                self._based_on(files.write_index(self.path, self._index, generation, info))
                self._pending = []
            return True

    def refresh(self) -> bool:
        """Catch up after another process saved; True if this index changed.

        Cheap while the file is unchanged (a stat and the sidecar), so it runs before every
        search. When the file changed, it is loaded and verified, becomes the base (this
        process's own unsaved changes replayed onto it from SQL), and its ids are compared with
        SQL: what was committed after that save is added from SQL, what SQL removed is dropped.
        A long-running reader thus serves SQL's set, without writing. A file that fails
        verification leaves the current index in place (still topped up from SQL); the next
        save or open replaces it. An index built in memory and never saved is newer than any
        file and is only topped up.
        """
        state = self._file_state()
        if state[0] is None or state == self._seen:
            return False
        loaded = None
        if self._base is not None or not self._unsaved:
            loaded = files.read_index(self.path, self.dim)  # outside _io: it may lock
        with self._io:
            self._seen = state
            if loaded is not None and loaded.signature == self._base:
                return False  # our own save, finished while we read
            if loaded is not None:
                self._adopt(loaded)
            if self.source is None:
                return loaded is not None
            added, removed = self.sync_with_sql()
            return loaded is not None or bool(added or removed)

    def sync_with_sql(self) -> tuple[int, int]:
        """Make the id set SQL's searchable set: add what SQL has and this index lacks (with
        SQL's vectors), drop what SQL no longer has; returns (added, removed).

        An id that looks extra is re-checked against SQL before it is dropped: this process may
        have committed it after the id list was read and added it since (SQL first, then the
        index), and that must not be undone.
        """
        if self.source is None:
            raise RuntimeError(f"index {self.path} has no SQL source to sync with")
        diff = diff_ids(self.ids(), self.source.expected_ids())
        extra, missing = diff.extra, diff.missing
        if extra.size:
            extra = np.setdiff1d(extra, self.source.load_by_ids(extra)[0])
        removed = self._remove(extra, local=False) if extra.size else 0
        added = 0
        if missing.size:
            got, vectors = self.source.load_by_ids(missing)
            self._add(got, vectors, local=False)
            added = len(got)
        if added or removed:
            log.info("index %s synced with SQL: %d added, %d removed", self.path, added, removed)
        return added, removed

    def _adopt(self, loaded: files.LoadedFile) -> None:
        """Make another process's saved file the base, with this process's own changes since
        its base replayed onto it from SQL (SQL holds their current vectors; the file may hold
        older ones, or none). Under _io."""
        with self._lock:
            mine = len(self._pending)
            ids = np.unique(np.concatenate(self._pending)) if mine else np.empty(0, np.int64)
        if self.source is not None:
            replay(loaded.index, ids, self.source.load_by_ids)
        with self._lock:
            late = self._pending[mine:]  # changed while we replayed: few, replayed locked
            if self.source is not None and late:
                replay(loaded.index, np.concatenate(late), self.source.load_by_ids)
            pending = self._pending
            self._index = loaded.index
            self._gpu = None
            self._build_info = dict(loaded.sidecar.build)
            self._based_on(loaded)
            self._pending = pending
            self._unsaved = bool(pending)

    def _based_on(self, loaded: files.LoadedFile) -> None:
        self._base = loaded.signature
        self._generation = loaded.sidecar.generation
        self._seen = (loaded.signature, loaded.sidecar.generation)
        self._unsaved = False

    def _file_state(self) -> _FileState:
        return files.signature_of(self.path), files.current_generation(self.path)

    def _changed(self, ids: np.ndarray, local: bool, *, effective: bool = True) -> None:
        super()._changed(ids, local, effective=effective)
        if not effective:
            return  # removing ids it does not hold leaves the file as it is
        self._unsaved = True
        if local:
            self._pending.append(ids.copy())

    def _swapped(self) -> None:
        self._base, self._unsaved = None, True  # built from SQL: newer than any file

"""FAISS vector index whose file on disk is a derived cache of SQL.

SQL is the source of truth, vectors included. The index file only exists so that
start-up does not have to re-add every vector; it is written atomically, checked
against the ids SQL expects when opened, and rebuilt from SQL whenever the two
disagree. This module knows nothing about SQL: callers hand in loader callables.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

log = logging.getLogger(__name__)

IdsLoader = Callable[[], np.ndarray]
"""Returns the int64 ids that SQL says must be in the index."""
VectorsLoader = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
"""Streams chunks of (int64 ids, float32 vectors [n, dim]) from SQL."""

_Signature = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    score: float


def _new_index(dim: int) -> Any:
    """The one place the index type is chosen, so approximate types can be swapped in later.

    Inner product on L2-normalised vectors is cosine similarity. IDMap2 (not IDMap) keeps
    a reverse map, which makes reconstruct-by-id and cheap membership possible.
    """
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _check_ids(ids: np.ndarray) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids must be integers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _check_vectors(vectors: np.ndarray, dim: int) -> np.ndarray:
    arr = np.asarray(vectors)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"vectors must have shape [n, {dim}], got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _fsync_path(path: Path) -> None:
    """fsync a file or directory by path; directories cannot be fsynced on every OS."""
    is_dir = path.is_dir()
    flags = (os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if is_dir else os.O_RDWR
    try:
        fd = os.open(path, flags)
    except OSError:
        if is_dir:
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write via a same-directory temp file then os.replace, so readers see old or new, never half.

    The temp file is fsynced before the rename and the directory after it, so a crash
    leaves either the previous file or the complete new one.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        _fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_path(path.parent)


class VectorIndex:
    """Thread-safe id → vector index with upsert, removal, search and atomic persistence."""

    def __init__(self, path: Path, dim: int, index: Any, generation: int = 0) -> None:
        self.path = Path(path)
        self.dim = dim
        self._index = index
        self._lock = threading.Lock()
        self._generation = generation
        self._signature: _Signature | None = self._stat()

    @classmethod
    def open(
        cls, path: Path, dim: int, expected_ids: IdsLoader, load_vectors: VectorsLoader
    ) -> tuple[VectorIndex, bool]:
        """Load the file when it agrees with SQL exactly; otherwise rebuild from SQL and save.

        Any doubt (missing, unreadable, wrong dim, different id set) means rebuild, because
        the file is only a cache and serving stale or foreign vectors is worse than waiting.
        """
        path = Path(path)
        if path.exists():
            index = cls._read(path, dim)
            if index is not None:
                have = np.sort(faiss.vector_to_array(index.id_map).astype(np.int64))
                want = np.sort(_check_ids(expected_ids()))
                if np.array_equal(have, want):
                    return cls(path, dim, index, cls._read_generation(path)), False
                n_have, n_want = have.size, want.size
                log.warning("index %s != SQL ids (%d vs %d); rebuilding", path, n_have, n_want)
        else:
            log.info("index %s does not exist; building from SQL", path)
        built = cls.build(path, dim, load_vectors)
        built.save()  # generation continues from the old sidecar, if any
        return built, True

    @classmethod
    def build(cls, path: Path, dim: int, load_vectors: VectorsLoader) -> VectorIndex:
        """Build in memory from streamed chunks (memory: the index plus one chunk); not saved.

        Chunks are appended without per-chunk upserts (which would rescan the index each
        time); duplicate ids, impossible for a SQL primary key, are rejected at the end.
        """
        index = _new_index(dim)
        for chunk_ids, chunk_vectors in load_vectors():
            ids = _check_ids(chunk_ids)
            vectors = _check_vectors(chunk_vectors, dim)
            if ids.shape[0] != vectors.shape[0]:
                raise ValueError(f"{ids.shape[0]} ids for {vectors.shape[0]} vectors")
            if ids.size:
                index.add_with_ids(vectors, ids)
        all_ids = faiss.vector_to_array(index.id_map)
        if np.unique(all_ids).size != all_ids.size:
            raise ValueError("load_vectors yielded duplicate ids")
        return cls(path, dim, index)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Upsert: ids already present are removed first, so an id never has two vectors."""
        ids = _check_ids(ids)
        vectors = _check_vectors(vectors, self.dim)
        if ids.shape[0] != vectors.shape[0]:
            raise ValueError(f"{ids.shape[0]} ids for {vectors.shape[0]} vectors")
        if np.unique(ids).size != ids.size:
            raise ValueError("duplicate ids in one add() call")
        if not ids.size:
            return
        with self._lock:
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids; unknown ids are ignored. Returns how many were actually removed."""
        ids = _check_ids(ids)
        if not ids.size:
            return 0
        with self._lock:
            return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))

    def search(
        self, queries: np.ndarray, k: int, *, exclude: Collection[int] = ()
    ) -> list[list[SearchHit]]:
        """Top-k per query, best first; never padded with FAISS's -1 placeholders.

        With exclude, FAISS is asked for k + len(exclude) so that dropping excluded ids
        (typically the query image itself) still leaves k real hits when enough exist.
        """
        q = np.asarray(queries)
        if q.ndim == 1:
            q = q.reshape(1, -1)
        q = _check_vectors(q, self.dim)
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        skip = {int(i) for i in exclude}
        with self._lock:
            total = self._index.ntotal
            if total == 0 or q.shape[0] == 0:
                return [[] for _ in range(q.shape[0])]
            scores, found = self._index.search(q, min(k + len(skip), total))
        results: list[list[SearchHit]] = []
        for row_scores, row_ids in zip(scores, found, strict=True):
            hits: list[SearchHit] = []
            for score, hit_id in zip(row_scores.tolist(), row_ids.tolist(), strict=True):
                if hit_id == -1 or hit_id in skip:
                    continue
                hits.append(SearchHit(hit_id, score))
                if len(hits) == k:
                    break
            results.append(hits)
        return results

    def ids(self) -> np.ndarray:
        """All ids, int64, sorted."""
        with self._lock:
            return np.sort(faiss.vector_to_array(self._index.id_map).astype(np.int64))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def generation(self) -> int:
        """Increases on every save; other processes compare it (via refresh) to see updates."""
        return self._generation

    @property
    def meta_path(self) -> Path:
        return self.path.with_name(self.path.name + ".meta.json")

    def save(self) -> None:
        """Atomically write the index, then the sidecar (generation, count, dim, saved_at).

        The sidecar is written after the index so a reader that sees a new generation is
        guaranteed to find the matching index file already in place.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            generation = max(self._generation, self._read_generation(self.path)) + 1
            count = int(self._index.ntotal)
            _atomic_write(self.path, lambda tmp: faiss.write_index(self._index, str(tmp)))
            meta = dict(generation=generation, count=count, dim=self.dim, saved_at=time.time())
            _atomic_write(self.meta_path, lambda tmp: tmp.write_text(json.dumps(meta)))
            self._generation = generation
            self._signature = self._stat()

    def refresh(self) -> bool:
        """Reload if another process replaced the file since we loaded or saved it.

        Change is detected by the file's (inode, mtime_ns, size) or a new sidecar
        generation; the latter catches inode reuse within one mtime tick. An unreadable
        file keeps the current in-memory index (logged), so readers never crash.
        """
        signature = self._stat()
        generation = self._read_generation(self.path)
        if signature is None or (signature == self._signature and generation == self._generation):
            return False
        index = self._read(self.path, self.dim)
        if index is None:
            return False
        with self._lock:
            self._index = index
            self._signature = signature
            self._generation = generation
        return True

    def _stat(self) -> _Signature | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    @staticmethod
    def _read(path: Path, dim: int) -> Any | None:
        """Read an index file; None (with a warning) if it is unreadable or not ours."""
        try:
            index = faiss.read_index(str(path))
        except Exception as exc:  # faiss raises RuntimeError; be broad, the file is a cache
            log.warning("index %s is unreadable (%s); it will be rebuilt", path, exc)
            return None
        if not isinstance(index, faiss.IndexIDMap2):
            log.warning("index %s is %s, not IndexIDMap2", path, type(index).__name__)
            return None
        if index.d != dim:
            log.warning("index %s has dim %d, expected %d", path, index.d, dim)
            return None
        return index

    @staticmethod
    def _read_generation(path: Path) -> int:
        meta = path.with_name(path.name + ".meta.json")
        try:
            return int(json.loads(meta.read_text())["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

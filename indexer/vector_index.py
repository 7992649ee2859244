"""FAISS vector index whose file on disk is a derived cache of SQL.

SQL is the source of truth, vectors included. The index file only exists so that
start-up does not have to re-add every vector; it is written atomically, checked
against the ids SQL expects when opened, and rebuilt from SQL whenever the two
disagree. This module knows nothing about SQL: callers hand in loader callables.

The index inside may be exact (IDMap2 over a flat inner-product index) or approximate (an IVF
index holding the ids itself); `indexer.index_factory` decides which and builds it. A
replacement can be built while this one keeps answering (`rebuild_with`): changes made in
the meantime are journaled and replayed from SQL before the atomic swap.
"""

from __future__ import annotations

import json
import logging
import math
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

from indexer import index_factory

log = logging.getLogger(__name__)

IdsLoader = Callable[[], np.ndarray]
"""Returns the int64 ids that SQL says must be in the index."""
VectorsLoader = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
"""Streams chunks of (int64 ids, float32 vectors [n, dim]) from SQL."""
ByIdsLoader = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""For some ids, the (ids, vectors) of those SQL still holds as searchable (others omitted)."""

_Signature = tuple[int, int, int]
_FINAL_ROUND = 1000  # journaled ids few enough to replay under the lock


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    score: float


def _new_index(dim: int) -> Any:
    """An empty exact index (the type every collection starts with)."""
    return index_factory.empty_flat(dim)


def _all_ids(index: Any) -> np.ndarray:
    """Unsorted int64 ids held by an IDMap2 (its reverse map) or an IVF (its inverted lists)."""
    if isinstance(index, faiss.IndexIDMap2):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    ivf = faiss.extract_index_ivf(index)
    lists = ivf.invlists
    parts = [
        faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
        for i in range(ivf.nlist)
        if lists.list_size(i)
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)


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

    def __init__(
        self,
        path: Path,
        dim: int,
        index: Any,
        generation: int = 0,
        *,
        build_info: dict | None = None,
        use_gpu: bool = False,
    ) -> None:
        self.path = Path(path)
        self.dim = dim
        self._index = index
        self._lock = threading.Lock()
        self._generation = generation
        self._signature: _Signature | None = self._stat()
        self._build_info = dict(build_info or {})
        self._journal: list[np.ndarray] | None = None  # ids changed while a rebuild runs
        self._use_gpu = use_gpu and index_factory.gpu_available()
        self._gpu: Any = None  # search copy on the GPU, rebuilt after any change
        self.on_change: Callable[[VectorIndex], None] | None = None
        """Called (outside the lock) after add/remove; the library hangs its rebuild check here."""

    @classmethod
    def open(
        cls,
        path: Path,
        dim: int,
        expected_ids: IdsLoader,
        load_vectors: VectorsLoader,
        *,
        rebuild: Callable[[], VectorIndex] | None = None,
        use_gpu: bool = False,
    ) -> tuple[VectorIndex, bool]:
        """Load the file when it agrees with SQL exactly; otherwise rebuild from SQL and save.

        Any doubt (missing, unreadable, wrong dim, different id set) means rebuild, because
        the file is only a cache and serving stale or foreign vectors is worse than waiting.
        `rebuild` (default: an exact index from `load_vectors`) lets the caller apply its
        index policy; it returns an unsaved index.
        """
        path = Path(path)
        if path.exists():
            index = cls._read(path, dim)
            if index is not None:
                have = np.sort(_all_ids(index))
                want = np.sort(_check_ids(expected_ids()))
                if np.array_equal(have, want):
                    meta = cls._read_meta(path)
                    info = meta.get("build") if isinstance(meta.get("build"), dict) else None
                    opened = cls(
                        path,
                        dim,
                        index,
                        cls._read_generation(path),
                        build_info=info,
                        use_gpu=use_gpu,
                    )
                    return opened, False
                n_have, n_want = have.size, want.size
                log.warning("index %s != SQL ids (%d vs %d); rebuilding", path, n_have, n_want)
        else:
            log.info("index %s does not exist; building from SQL", path)
        built = rebuild() if rebuild is not None else cls.build(path, dim, load_vectors)
        built._use_gpu = use_gpu and index_factory.gpu_available()
        built.save()  # generation continues from the old sidecar, if any
        return built, True

    @classmethod
    def build(cls, path: Path, dim: int, load_vectors: VectorsLoader) -> VectorIndex:
        """Build an exact index in memory from streamed chunks (memory: the index plus one
        chunk); not saved. Duplicate ids, impossible for a SQL primary key, are rejected."""
        index = index_factory.build_flat(dim, load_vectors)
        return cls(path, dim, index, build_info={"kind": "flat", "n": int(index.ntotal)})

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
            self._changed(ids)
        self._notify()

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids; unknown ids are ignored. Returns how many were actually removed."""
        ids = _check_ids(ids)
        if not ids.size:
            return 0
        with self._lock:
            removed = int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
            self._changed(ids)
        self._notify()
        return removed

    def search(
        self, queries: np.ndarray, k: int, *, exclude: Collection[int] = ()
    ) -> list[list[SearchHit]]:
        """Top-k per query, best first; never padded with FAISS's -1 placeholders.

        With exclude, FAISS is asked for k + len(exclude) so that dropping excluded ids
        (typically the query image itself) still leaves k real hits when enough exist. An
        approximate index probes more lists for a large k, so k hits exist to be found.
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
            scores, found = self._search(q, min(k + len(skip), total))
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
            return np.sort(_all_ids(self._index))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        """Exact ("flat") or the approximate index's factory string, e.g. "IVF4096,SQ8"."""
        return index_factory.kind_of(self._index)

    @property
    def build_info(self) -> dict:
        """How the current index was built: kind, n, nprobe, recall_at_10 (sidecar-persisted)."""
        return {**self._build_info, "kind": self.kind}

    @property
    def generation(self) -> int:
        """Increases on every save; other processes compare it (via refresh) to see updates."""
        return self._generation

    @property
    def meta_path(self) -> Path:
        return self.path.with_name(self.path.name + ".meta.json")

    def save(self) -> None:
        """Atomically write the index, then the sidecar (generation, count, dim, saved_at,
        build info).

        The sidecar is written after the index so a reader that sees a new generation is
        guaranteed to find the matching index file already in place.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            generation = max(self._generation, self._read_generation(self.path)) + 1
            count = int(self._index.ntotal)
            _atomic_write(self.path, lambda tmp: faiss.write_index(self._index, str(tmp)))
            meta = dict(
                generation=generation,
                count=count,
                dim=self.dim,
                saved_at=time.time(),
                build={**self._build_info, "kind": index_factory.kind_of(self._index)},
            )
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
        info = self._read_meta(self.path).get("build")
        with self._lock:
            if signature == self._signature:
                # Our own save() finished while we read: the file is what we already hold, and
                # the sidecar we read may predate it (it is written after the index file).
                return False
            self._index = index
            self._gpu = None
            self._signature = signature
            self._generation = generation
            self._build_info = dict(info) if isinstance(info, dict) else {}
        return True

    # -- rebuilding while answering ----------------------------------------------------------

    @property
    def rebuilding(self) -> bool:
        return self._journal is not None

    def rebuild_with(
        self,
        build: Callable[[], tuple[Any, dict]],
        load_by_ids: ByIdsLoader,
        *,
        before_swap: Callable[[], None] | None = None,
    ) -> None:
        """Replace the index by `build()`'s (a faiss index and its build info) without a pause.

        The build runs unlocked while this index keeps answering and taking changes; each
        changed id is journaled. The journal is then replayed onto the new index from SQL
        (`load_by_ids`: the ids still searchable, with SQL's vectors), in rounds while
        changes keep coming, and the last round and the swap happen under the lock. Not
        saved: the caller saves. If the build fails, nothing changes.
        """
        with self._lock:
            if self._journal is not None:
                raise RuntimeError(f"a rebuild of {self.path} is already running")
            self._journal = []
        try:
            new, info = build()
            for _ in range(8):
                if self._replay(new, self._drain(), load_by_ids) < _FINAL_ROUND:
                    break
            if before_swap is not None:
                before_swap()
            with self._lock:
                ids = np.concatenate(self._journal) if self._journal else np.empty(0, np.int64)
                self._replay(new, ids, load_by_ids)
                self._index = new
                self._gpu = None
                self._build_info = dict(info)
        finally:
            with self._lock:
                self._journal = None

    def _drain(self) -> np.ndarray:
        with self._lock:
            parts, self._journal = self._journal or [], []
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, np.int64)

    @staticmethod
    def _replay(index: Any, ids: np.ndarray, load_by_ids: ByIdsLoader) -> int:
        """Make `index` agree with SQL for `ids`: drop them, re-add those SQL still has."""
        ids = np.unique(ids)
        if ids.size:
            index.remove_ids(faiss.IDSelectorBatch(ids))
            got_ids, vectors = load_by_ids(ids)
            if len(got_ids):
                index.add_with_ids(
                    np.ascontiguousarray(vectors, dtype=np.float32), _check_ids(got_ids)
                )
        return int(ids.size)

    def _changed(self, ids: np.ndarray) -> None:
        """Under the lock, after a change: journal it and drop the stale GPU copy."""
        self._gpu = None
        if self._journal is not None:
            self._journal.append(ids.copy())

    def _notify(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    # -- searching -------------------------------------------------------------------------

    def _search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Under the lock. GPU copy when faiss-gpu and a GPU are there (UNTESTED: no GPU in CI),
        else the CPU index; an IVF probes enough lists to hold ~4k candidates."""
        ivf = faiss.try_extract_index_ivf(self._index)
        if self._use_gpu:
            try:
                if self._gpu is None:
                    self._gpu = index_factory.to_gpu(self._index)
                return self._gpu.search(q, k)
            except Exception as exc:  # an index type or k the GPU cannot do: CPU from now on
                log.warning("GPU search unavailable (%s); searching on CPU", exc)
                self._use_gpu, self._gpu = False, None
        if ivf is None:
            return self._index.search(q, k)
        wanted = math.ceil(4 * k * ivf.nlist / max(ivf.ntotal, 1))
        nprobe = min(ivf.nlist, max(ivf.nprobe, wanted))
        return self._index.search(q, k, params=faiss.SearchParametersIVF(nprobe=nprobe))

    # -- files -----------------------------------------------------------------------------

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
        if not isinstance(index, (faiss.IndexIDMap2, faiss.IndexIVF)):
            log.warning("index %s is %s, not IndexIDMap2 or IVF", path, type(index).__name__)
            return None
        if index.d != dim:
            log.warning("index %s has dim %d, expected %d", path, index.d, dim)
            return None
        return index

    @staticmethod
    def _read_meta(path: Path) -> dict:
        meta = path.with_name(path.name + ".meta.json")
        try:
            data = json.loads(meta.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @classmethod
    def _read_generation(cls, path: Path) -> int:
        try:
            return int(cls._read_meta(path)["generation"])
        except (ValueError, KeyError, TypeError):
            return 0

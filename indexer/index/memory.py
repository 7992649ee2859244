"""An id -> vector FAISS index in memory: thread-safe upsert, removal, search, rebuild.

Only the in-memory structure; `indexer.index.store.VectorIndex` adds the file on disk and its
agreement with SQL. The index inside may be exact (IDMap2 over a flat inner-product index) or
approximate (an IVF index holding the ids itself); `indexer.index.policy` decides which and
builds it. A replacement can be built while this one keeps answering (`rebuild_with`): changes
made in the meantime are journaled and replayed from SQL before the swap.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Self

import faiss
import numpy as np

from vitrieve.indexer.index import policy
from vitrieve.indexer.index.checks import check_ids, check_vectors

log = logging.getLogger(__name__)

ByIdsLoader = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""For some ids, the (ids, vectors) of those SQL still holds as searchable (others omitted)."""

_FINAL_ROUND = 1000  # journaled ids few enough to replay under the lock


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    score: float


def all_ids(index: Any) -> np.ndarray:
    """Unsorted int64 ids held by an IDMap2 (its reverse map) or an IVF (its inverted lists)."""
    if isinstance(index, faiss.IndexIDMap2):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    ivf = faiss.extract_index_ivf(index)
    lists = ivf.invlists
    assert lists is not None  # an IVF index always owns its inverted lists
    parts = [
        faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
        for i in range(ivf.nlist)
        if lists.list_size(i)
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)


@dataclass(frozen=True, slots=True)
class IdDiff:
    """How an index's ids differ from SQL's searchable ids (both sorted, unique)."""

    extra: np.ndarray  # in the index, no longer searchable in SQL
    missing: np.ndarray  # searchable in SQL, not in the index
    duplicated: bool  # the index holds some id twice (a damaged or foreign file)

    @property
    def agrees(self) -> bool:
        return not (self.extra.size or self.missing.size or self.duplicated)


def diff_ids(have: np.ndarray, want: np.ndarray) -> IdDiff:
    """The one comparison of an index's ids (`have`) with SQL's (`want`): opening a file
    rebuilds unless they agree, a sync applies the difference, so both read it the same way."""
    have = check_ids(have)
    have_set, want_set = np.unique(have), np.unique(check_ids(want))
    return IdDiff(
        extra=np.setdiff1d(have_set, want_set, assume_unique=True),
        missing=np.setdiff1d(want_set, have_set, assume_unique=True),
        duplicated=have_set.size != have.size,
    )


def _nprobe(ivf: Any, k: int, candidates: int) -> int:
    """Lists to probe so ~4k of `candidates` ids (spread over the lists) are scanned."""
    wanted = math.ceil(4 * k * ivf.nlist / max(candidates, 1))
    return min(ivf.nlist, max(ivf.nprobe, wanted))


def replay(index: Any, ids: np.ndarray, load_by_ids: ByIdsLoader) -> int:
    """Make raw `index` agree with SQL for `ids`: drop them, re-add those SQL still has."""
    ids = np.unique(ids)
    if ids.size:
        index.remove_ids(faiss.IDSelectorBatch(ids))
        got_ids, vectors = load_by_ids(ids)
        if len(got_ids):
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), check_ids(got_ids))
    return int(ids.size)


class MemoryIndex:
    """Thread-safe id -> vector index: upsert, removal, exclusion-aware search, live rebuild."""

    def __init__(
        self, dim: int, index: Any, *, build_info: dict | None = None, use_gpu: bool = False
    ) -> None:
        self.dim = dim
        self._index = index
        self._lock = threading.Lock()  # guards _index; held briefly, searches take it
        self._build_info = dict(build_info or {})
        self._journal: list[np.ndarray] | None = None  # ids changed while a rebuild runs
        self._use_gpu = use_gpu and policy.gpu_available()
        self._gpu: Any = None  # search copy on the GPU, rebuilt after any change
        self.on_change: Callable[[Self], object] | None = None
        """Called (outside the lock) after add/remove; the library hangs its rebuild check here.
        Not after top-ups copied from SQL, so only processes that change the index rebuild."""

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Upsert: ids already present are removed first, so an id never has two vectors."""
        self._add(ids, vectors, local=True)

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids; unknown ids are ignored. Returns how many were actually removed."""
        return self._remove(ids, local=True)

    def _add(self, ids: np.ndarray, vectors: np.ndarray, *, local: bool) -> None:
        """`local`: a change of this process's own (replayed onto another process's file when
        merging), as opposed to a top-up copied from SQL (which SQL will still have)."""
        ids = check_ids(ids)
        vectors = check_vectors(vectors, self.dim)
        if ids.shape[0] != vectors.shape[0]:
            raise ValueError(f"{ids.shape[0]} ids for {vectors.shape[0]} vectors")
        if np.unique(ids).size != ids.size:
            raise ValueError("duplicate ids in one add() call")
        if not ids.size:
            return
        with self._lock:
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
            self._index.add_with_ids(vectors, ids)
            self._changed(ids, local)
        if local:  # a reader's top-ups from SQL must not start rebuilds: writers do those
            self._notify()

    def _remove(self, ids: np.ndarray, *, local: bool) -> int:
        ids = check_ids(ids)
        if not ids.size:
            return 0
        with self._lock:
            removed = int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
            self._changed(ids, local, effective=removed > 0)
        if local:
            self._notify()
        return removed

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        exclude: Collection[int] = (),
        allowed: np.ndarray | None = None,
    ) -> list[list[SearchHit]]:
        """Top-k per query, best first; never padded with FAISS's -1 placeholders.

        With exclude, FAISS is asked for k + len(exclude) so that dropping excluded ids
        (typically the query image itself) still leaves k real hits when enough exist. An
        approximate index probes more lists for a large k, so k hits exist to be found.

        With `allowed`, only those ids are candidates: FAISS skips the others inside the search
        (an IDSelectorBatch), so a narrow filter (a folder, a tag) needs no over-fetching and
        gets the top k of the allowed ids, as a search over only their vectors would.
        """
        q = np.asarray(queries)
        if q.ndim == 1:
            q = q.reshape(1, -1)
        q = check_vectors(q, self.dim)
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        skip = {int(i) for i in exclude}
        among = None
        if allowed is not None:
            among = np.setdiff1d(check_ids(allowed), np.fromiter(skip, np.int64, len(skip)))
        with self._lock:
            total = self._index.ntotal
            if total == 0 or q.shape[0] == 0 or (among is not None and among.size == 0):
                return [[] for _ in range(q.shape[0])]
            if among is None:
                scores, found = self._search(q, min(k + len(skip), total))
            else:
                scores, found = self._search_among(q, min(k, among.size, total), among)
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
            return np.sort(all_ids(self._index))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        """Exact ("flat") or the approximate index's factory string, e.g. "IVF4096,SQ8"."""
        return policy.kind_of(self._index)

    @property
    def build_info(self) -> dict:
        """How the current index was built: kind, n, nprobe, recall_at_10 (sidecar-persisted)."""
        return {**self._build_info, "kind": self.kind}

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
                raise RuntimeError("a rebuild of this index is already running")
            self._journal = []
        try:
            new, info = build()
            for _ in range(8):
                if replay(new, self._drain(), load_by_ids) < _FINAL_ROUND:
                    break
            if before_swap is not None:
                before_swap()
            with self._lock:
                ids = np.concatenate(self._journal) if self._journal else np.empty(0, np.int64)
                replay(new, ids, load_by_ids)
                self._index = new
                self._gpu = None
                self._build_info = dict(info)
                self._swapped()
        finally:
            with self._lock:
                self._journal = None

    def _drain(self) -> np.ndarray:
        with self._lock:
            parts, self._journal = self._journal or [], []
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, np.int64)

    def _changed(self, ids: np.ndarray, local: bool, *, effective: bool = True) -> None:
        """Under the lock, after a change: journal it for a running rebuild (even one that
        changed nothing here: the new index may hold those ids), drop the GPU copy. `local`:
        made by this process's caller rather than copied from SQL (see VectorIndex)."""
        if effective:
            self._gpu = None
        if self._journal is not None:
            self._journal.append(ids.copy())

    def _swapped(self) -> None:
        """Under the lock, after `rebuild_with` swapped in the new index."""

    def _notify(self: Self) -> None:
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
                    self._gpu = policy.to_gpu(self._index)
                return self._gpu.search(q, k)
            except Exception as exc:  # an index type or k the GPU cannot do: CPU from now on
                log.warning("GPU search unavailable (%s); searching on CPU", exc)
                self._use_gpu, self._gpu = False, None
        if ivf is None:
            return self._index.search(q, k)
        nprobe = _nprobe(ivf, k, ivf.ntotal)
        return self._index.search(q, k, params=faiss.SearchParametersIVF(nprobe=nprobe))  # type: ignore[call-arg]  # faiss stubs omit kwargs

    def _search_among(
        self, q: np.ndarray, k: int, ids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Under the lock: `_search` restricted to `ids` by a selector, on the CPU (FAISS's GPU
        indexes take no selector). An IVF probes lists for ~4k candidates among the allowed."""
        sel = faiss.IDSelectorBatch(ids)  # referenced until the search returns
        ivf = faiss.try_extract_index_ivf(self._index)
        if ivf is None:
            return self._index.search(q, k, params=faiss.SearchParameters(sel=sel))  # type: ignore[call-arg]  # faiss stubs omit kwargs
        params = faiss.SearchParametersIVF(sel=sel, nprobe=_nprobe(ivf, k, ids.size))  # type: ignore[call-arg]  # faiss stubs omit kwargs
        return self._index.search(q, k, params=params)

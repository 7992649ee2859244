"""All pairs of vectors whose cosine similarity reaches a threshold, in bounded memory.

The input is the catalog's float16 vectors as one [N, d] array (1M x 768 = 1.5 GB); nothing of
size N x N is ever built. Three ways to get the pairs:

- ``exact``: brute force over the upper triangle, tile by tile with BLAS (the reference answer;
  O(N^2 d) work, so the default only below ``EXACT_MAX`` vectors).
- ``ivf``: an inverted file at BLAS speed. k-means cells (trained with FAISS on a 64-d PCA of a
  sample) partition the vectors by their nearest centroid; every vector is then compared, as a
  query, with the members of its ``nprobe`` nearest cells, one dense matrix product per cell.
  A pair is missed only when neither vector probes the other's cell: on near-duplicates that is
  rare (docs/DUPLICATES.md gives the measured agreement); ``nprobe`` >= the number of cells is
  exact.
- ``knn``: a FAISS flat index (on the GPU when faiss-gpu and a GPU are present) queried for k
  nearest neighbours; rows whose k-th neighbour still passes the threshold are asked again with
  twice the k, so the answer is exact.

Similarity is the cosine of the stored float16 vectors, computed in float32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import faiss
import numpy as np

from vitrieve.indexer.index.policy import gpu_available

ProgressFn = Callable[[str, int, int], None]
"""progress(stage, done, total): called as work advances (e.g. to drive a progress bar)."""

EXACT_MAX = 20_000  # brute force below this many vectors (~3 s on 2 cores)
CELL_SIZE = 256  # mean vectors per IVF cell: small cells, cheap products
DEFAULT_NPROBE = 4
PCA_DIM = 64  # the coarse quantizer only needs a rough map of the space
_TILE_Q, _TILE_D = 2048, 8192  # a 64 MB similarity tile
_FLUSH_PAIRS = 8_000_000  # merge found pairs once this many are pending (duplicates removed)
_CHUNK = 16_384  # rows converted to float32 at a time outside the tiles (48 MB at d=768)


@dataclass(frozen=True, slots=True)
class PairSet:
    """Pairs of row indices, a < b, each once, with their cosine similarity."""

    a: np.ndarray  # int64
    b: np.ndarray  # int64
    sim: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.a)


def choose_method(n: int) -> str:
    if gpu_available():
        return "knn"
    return "exact" if n <= EXACT_MAX else "ivf"


def similar_pairs(
    vectors: np.ndarray,
    threshold: float,
    *,
    method: str = "auto",
    nprobe: int = DEFAULT_NPROBE,
    progress: ProgressFn | None = None,
    seed: int = 0,
) -> PairSet:
    """Every pair (a < b) of rows of ``vectors`` with cosine >= threshold (see module doc)."""
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be [N, d], got shape {vectors.shape}")
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a cosine in [-1, 1], got {threshold}")
    progress = progress or _silent
    n = len(vectors)
    if n < 2:
        return _empty()
    norms = _row_norms(vectors)
    method = choose_method(n) if method == "auto" else method
    if method == "exact":
        return _exact(vectors, norms, threshold, progress)
    if method == "ivf":
        return _ivf(vectors, norms, threshold, nprobe, progress, seed)
    if method == "knn":
        return _knn(vectors, norms, threshold, progress, use_gpu=gpu_available())
    raise ValueError(f"unknown method {method!r}: use auto, exact, ivf or knn")


# -- building blocks --------------------------------------------------------------------------


def _silent(stage: str, done: int, total: int) -> None:
    pass


def _empty() -> PairSet:
    return PairSet(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))


def _row_norms(vectors: np.ndarray, chunk: int = _CHUNK) -> np.ndarray:
    out = np.empty(len(vectors), np.float32)
    for i in range(0, len(vectors), chunk):
        block = vectors[i : i + chunk].astype(np.float32)
        out[i : i + chunk] = np.sqrt(np.einsum("ij,ij->i", block, block))
    return np.maximum(out, 1e-12)


def _unit(vectors: np.ndarray, norms: np.ndarray, rows) -> np.ndarray:
    """float32 unit vectors of some rows (a slice or an index array): gathered per use."""
    block = vectors[rows].astype(np.float32)
    block /= norms[rows][:, None]
    return block


class _Collector:
    """Accumulates found pairs as (a < b) and removes repeats as it goes: O(pairs) memory."""

    def __init__(self) -> None:
        self._a: list[np.ndarray] = []
        self._b: list[np.ndarray] = []
        self._s: list[np.ndarray] = []
        self._pending = 0

    def add(self, a: np.ndarray, b: np.ndarray, sim: np.ndarray) -> None:
        keep = a != b
        a, b, sim = a[keep], b[keep], sim[keep]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        self._a.append(lo.astype(np.int64))
        self._b.append(hi.astype(np.int64))
        self._s.append(sim.astype(np.float32))
        self._pending += len(lo)
        if self._pending > _FLUSH_PAIRS:
            self._merge()

    def _merge(self) -> None:
        if self._pending == 0 and len(self._a) <= 1:
            return
        a, b, s = np.concatenate(self._a), np.concatenate(self._b), np.concatenate(self._s)
        key = a * (int(b.max()) + 1) + b if len(a) else a
        _, first = np.unique(key, return_index=True)  # sorted by (a, b)
        self._a, self._b, self._s = [a[first]], [b[first]], [s[first]]
        self._pending = 0

    def result(self) -> PairSet:
        self._merge()
        if not self._a:
            return _empty()
        return PairSet(self._a[0], self._b[0], self._s[0])


def _tile_pairs(q: np.ndarray, d: np.ndarray, threshold: float):
    """(query row, db row, sim) of one product q @ d.T at or above the threshold."""
    sims = q @ d.T
    qi, di = np.nonzero(sims >= threshold)
    return qi, di, sims[qi, di]


# -- exact --------------------------------------------------------------------------------------


def _exact(vectors, norms, threshold, progress) -> PairSet:
    n = len(vectors)
    out = _Collector()
    # Small enough: convert once; otherwise every tile converts its own rows.
    whole = _unit(vectors, norms, slice(None)) if n * vectors.shape[1] * 4 <= 512 << 20 else None

    def rows(lo: int, hi: int) -> np.ndarray:
        return whole[lo:hi] if whole is not None else _unit(vectors, norms, slice(lo, hi))

    for i in range(0, n, _TILE_Q):
        q = rows(i, min(i + _TILE_Q, n))
        for j in range(i, n, _TILE_D):
            qi, di, sim = _tile_pairs(q, rows(j, min(j + _TILE_D, n)), threshold)
            a, b = qi + i, di + j
            upper = a < b
            out.add(a[upper], b[upper], sim[upper])
        progress("comparing", min(i + _TILE_Q, n), n)
    return out.result()


# -- ivf ------------------------------------------------------------------------------------------


def _ivf(vectors, norms, threshold, nprobe, progress, seed) -> PairSet:
    n = len(vectors)
    ncells = max(1, min(n // CELL_SIZE, 65_536))
    nprobe = max(1, min(nprobe, ncells))
    probes = _assign_cells(vectors, norms, ncells, nprobe, seed, progress)
    primary = probes[:, 0]
    members = np.argsort(primary, kind="stable")
    member_start = np.searchsorted(primary[members], np.arange(ncells + 1))
    flat = probes.ravel()
    askers = np.argsort(flat, kind="stable")
    asker_start = np.searchsorted(flat[askers], np.arange(ncells + 1))
    del probes, flat
    out = _Collector()
    for c in range(ncells):
        db = members[member_start[c] : member_start[c + 1]]
        qs = askers[asker_start[c] : asker_start[c + 1]] // nprobe
        if len(db) and len(qs):
            dvec = _unit(vectors, norms, db)
            for k in range(0, len(qs), _TILE_Q):
                rows = qs[k : k + _TILE_Q]
                qvec = _unit(vectors, norms, rows)
                for j in range(0, len(db), _TILE_D):
                    qi, di, sim = _tile_pairs(qvec, dvec[j : j + _TILE_D], threshold)
                    out.add(rows[qi], db[j + di], sim)
        if c % 64 == 63 or c == ncells - 1:
            progress("comparing", c + 1, ncells)
    return out.result()


def _assign_cells(vectors, norms, ncells, nprobe, seed, progress) -> np.ndarray:
    """int32 [N, nprobe]: each row's nearest cells, nearest first."""
    n, d = vectors.shape
    rng = np.random.default_rng(seed)
    progress("training", 0, 1)
    # FAISS asks for >= 39 points per centroid; more only slows training down.
    sample = rng.choice(n, size=min(n, 40 * ncells), replace=False)
    pdim = min(PCA_DIM, d)
    pca = faiss.PCAMatrix(d, pdim)
    pca.train(_unit(vectors, norms, np.sort(sample[:20_000])))
    coarse = np.concatenate(
        [
            pca.apply(_unit(vectors, norms, np.sort(sample[i : i + _CHUNK])))
            for i in range(0, len(sample), _CHUNK)
        ]
    )
    kmeans = faiss.Kmeans(pdim, ncells, niter=10, seed=seed, max_points_per_centroid=40)
    kmeans.train(coarse)
    del coarse
    progress("training", 1, 1)
    probes = np.empty((n, nprobe), np.int32)
    step = _CHUNK
    for i in range(0, n, step):
        block = pca.apply(_unit(vectors, norms, slice(i, i + step)))
        _, nearest = kmeans.index.search(block, nprobe)
        probes[i : i + step] = nearest
        progress("assigning", min(i + step, n), n)
    return probes


# -- knn (GPU when available) ---------------------------------------------------------------------


def _knn(vectors, norms, threshold, progress, *, use_gpu: bool, k: int = 32) -> PairSet:
    n, d = vectors.shape
    index, _resources = _flat_index(d, use_gpu)  # the GPU resources must outlive the index
    for i in range(0, n, _CHUNK):
        index.add(_unit(vectors, norms, slice(i, i + _CHUNK)))
    out = _Collector()
    for i in range(0, n, 4096):
        rows = np.arange(i, min(i + 4096, n))
        want = min(k, n)
        while len(rows):
            sims, ids = index.search(_unit(vectors, norms, rows), want)
            full = sims[:, -1] >= threshold  # the k-th still passes: there may be more
            done = ~full if want < n else np.ones(len(rows), bool)
            qi, col = np.nonzero((sims >= threshold) & done[:, None] & (ids >= 0))
            out.add(rows[qi], ids[qi, col].astype(np.int64), sims[qi, col])
            rows, want = rows[~done], min(want * 2, n)
        progress("comparing", min(i + 4096, n), n)
    return out.result()


def _flat_index(d: int, use_gpu: bool):
    if use_gpu:
        res = faiss.StandardGpuResources()
        return faiss.GpuIndexFlatIP(res, d), res
    return faiss.IndexFlatIP(d), None

"""Specifications for searching among allowed ids (MemoryIndex.search(allowed=...)): FAISS
filters inside the search, and the answer is the top k of the allowed ids, exactly what a brute
force search over only those ids gives, for every index kind the project builds."""

from __future__ import annotations

import functools

import faiss
import numpy as np
import pytest

from vitrieve.indexer.index.memory import MemoryIndex
from vitrieve.indexer.index.policy import build_flat

DIM = 32
N = 3000


def unit(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


VECTORS = unit(N, seed=1)
IDS = np.arange(N, dtype=np.int64) * 5 + 11  # ids unlike row numbers: IDMap2 must translate


def flat() -> MemoryIndex:
    index = build_flat(DIM, lambda: iter([(IDS, VECTORS)]))
    return MemoryIndex(DIM, index)


def ivf(kind: str, nprobe: int | None = None) -> MemoryIndex:
    index = faiss.index_factory(DIM, kind, faiss.METRIC_INNER_PRODUCT)
    index.train(VECTORS)
    index.add_with_ids(VECTORS, IDS)
    # Every list by default: the filtered answer is then fully determined.
    index.nprobe = index.nlist if nprobe is None else nprobe
    return MemoryIndex(DIM, index)


@functools.cache
def built(kind: str) -> MemoryIndex:
    """One index per kind for the module: searching never changes it."""
    return _KINDS[kind]()


_KINDS = {
    "flat": flat,
    "IVF16,SQ8": lambda: ivf("IVF16,SQ8"),
    "IVF16,PQ8x4": lambda: ivf("IVF16,PQ8x4"),
}


def brute_force_among(index: MemoryIndex, queries: np.ndarray, k: int, allowed: np.ndarray):
    """The index's own scores for every id, keeping the best k allowed ones."""
    out, keep = [], set(allowed.tolist())
    for row in index.search(queries, N):
        kept = [h for h in row if h.id in keep]
        out.append(kept[:k])
    return out


@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.parametrize("share", [0.005, 0.1, 0.6])
def test_filtered_search_is_the_top_k_of_the_allowed_ids(kind: str, share: float) -> None:
    index = built(kind)
    rng = np.random.default_rng(7)
    allowed = np.sort(rng.choice(IDS, size=max(1, int(share * N)), replace=False))
    queries = unit(5, seed=3)
    got = index.search(queries, 10, allowed=allowed)
    want = brute_force_among(index, queries, 10, allowed)
    for g, w in zip(got, want, strict=True):
        assert [h.id for h in g] == [h.id for h in w]
        np.testing.assert_allclose([h.score for h in g], [h.score for h in w], rtol=1e-5)
        assert len(g) == min(10, len(allowed))


def test_flat_filtered_search_matches_numpy_on_the_allowed_vectors() -> None:
    index = flat()
    allowed = IDS[::37]
    q = unit(1, seed=4)
    rows = np.searchsorted(IDS, allowed)
    scores = VECTORS[rows] @ q[0]
    best = np.argsort(-scores)[:10]
    hits = index.search(q, 10, allowed=allowed)[0]
    assert [h.id for h in hits] == allowed[best].tolist()
    np.testing.assert_allclose([h.score for h in hits], scores[best], rtol=1e-5)


@pytest.mark.parametrize("kind", _KINDS)
def test_exclusion_and_unknown_ids_combine_with_the_filter(kind: str) -> None:
    index = built(kind)
    allowed = np.concatenate([IDS[:20], [-5, 12, 10**12]])  # ids the index never held
    q = VECTORS[3:4]
    hits = index.search(q, 50, allowed=allowed, exclude=[int(IDS[3])])[0]
    assert sorted(h.id for h in hits) == sorted(set(IDS[:20].tolist()) - {int(IDS[3])})
    assert index.search(q, 5, allowed=np.array([IDS[3]]), exclude=[int(IDS[3])]) == [[]]
    assert index.search(q, 5, allowed=np.empty(0, np.int64)) == [[]]


def test_ivf_at_its_default_nprobe_probes_enough_lists_for_a_narrow_filter() -> None:
    index = ivf("IVF16,SQ8", nprobe=1)  # as built: a few lists per query
    allowed = IDS[::100]  # 30 ids spread over every list
    hits = index.search(unit(1, seed=5), 10, allowed=allowed)[0]
    keep = set(allowed.tolist())
    assert len(hits) == 10 and all(h.id in keep for h in hits)

"""Near-duplicate pairs and groups on synthetic vectors equal the brute-force numpy answer."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from vitrieve.search.duplicates.graph import Edges, components, hash_group_edges, pair_keys
from vitrieve.search.duplicates.pairs import similar_pairs

THRESHOLD = 0.9


def clustered(n: int, seed: int, d: int = 96) -> np.ndarray:
    """float16 unit-ish vectors: a third of them in small clusters whose members straddle
    the threshold (some pairs above, some below), the rest unrelated."""
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < n:
        centre = rng.standard_normal(d)
        centre /= np.linalg.norm(centre)
        size = 1 if rng.random() < 0.7 else int(rng.integers(2, 7))
        for _ in range(size):
            v = centre + rng.uniform(0.1, 0.5) * rng.standard_normal(d) / np.sqrt(d)
            rows.append(v / np.linalg.norm(v))
    return np.asarray(rows[:n], dtype=np.float16)


def brute_force(vectors: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    x = vectors.astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sims = x @ x.T
    # No pair may sit within float32 rounding of the threshold, or "equal" would be luck.
    assert not np.any(np.abs(sims - threshold) < 1e-5)
    a, b = np.nonzero(np.triu(sims >= threshold, 1))
    return set(zip(a.tolist(), b.tolist(), strict=True))


def brute_force_groups(n: int, pairs: set[tuple[int, int]]) -> set[frozenset[int]]:
    from scipy.sparse import coo_matrix

    a = np.asarray([p[0] for p in pairs], dtype=np.int64)
    b = np.asarray([p[1] for p in pairs], dtype=np.int64)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, set[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), set()).add(i)
    return {frozenset(g) for g in groups.values() if len(g) > 1}


def as_set(pairs) -> set[tuple[int, int]]:
    return set(zip(pairs.a.tolist(), pairs.b.tolist(), strict=True))


@pytest.mark.parametrize(
    ("method", "options"),
    [("exact", {}), ("knn", {}), ("ivf", {"nprobe": 10_000})],
    ids=["exact", "knn", "ivf-probing-every-cell"],
)
def test_exact_methods_find_exactly_the_brute_force_pairs(method, options):
    vectors = clustered(3000, seed=8)
    expected = brute_force(vectors, THRESHOLD)
    pairs = similar_pairs(vectors, THRESHOLD, method=method, **options)
    assert len(expected) > 100
    assert as_set(pairs) == expected
    assert np.all(pairs.a < pairs.b)


def test_similarities_are_the_cosines_of_the_stored_vectors():
    vectors = clustered(800, seed=2)
    x = vectors.astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    pairs = similar_pairs(vectors, THRESHOLD, method="exact")
    np.testing.assert_allclose(pairs.sim, np.sum(x[pairs.a] * x[pairs.b], axis=1), atol=1e-5)


def test_groups_equal_the_brute_force_connected_components():
    vectors = clustered(3000, seed=3)
    expected = brute_force_groups(len(vectors), brute_force(vectors, THRESHOLD))
    pairs = similar_pairs(vectors, THRESHOLD)
    groups = components(Edges(pairs.a, pairs.b, pairs.sim))
    assert {frozenset(g.tolist()) for g in groups} == expected
    assert any(len(g) >= 3 for g in expected)  # chains are joined, not just pairs


def test_ivf_with_few_probes_still_agrees_with_brute_force():
    vectors = clustered(6000, seed=4)
    expected = brute_force(vectors, THRESHOLD)
    found = as_set(similar_pairs(vectors, THRESHOLD, method="ivf", nprobe=4))
    assert found <= expected  # never a false pair: every candidate is checked exactly
    assert len(found) / len(expected) >= 0.99


def test_many_identical_vectors_form_one_clique_without_blowing_up():
    vectors = np.repeat(clustered(1, seed=5), 50, axis=0)
    pairs = similar_pairs(vectors, THRESHOLD, method="knn")  # k=32 < 50: must ask again
    assert len(pairs) == 50 * 49 // 2


def test_fewer_than_two_vectors_have_no_pairs():
    assert len(similar_pairs(clustered(1, seed=6), THRESHOLD)) == 0


def test_ignoring_the_middle_pair_of_a_chain_splits_it():
    chain = Edges.from_pairs([(1, 2), (2, 3)], sim=0.95)
    assert [g.tolist() for g in components(chain)] == [[1, 2, 3]]
    split = chain.without(pair_keys(np.array([3]), np.array([2])))
    assert [g.tolist() for g in components(split)] == [[1, 2]]


def test_hash_groups_are_stars_unless_a_decision_names_a_member():
    star = hash_group_edges([[5, 3, 9]], touched=set())
    assert sorted(zip(star.a.tolist(), star.b.tolist(), strict=True)) == [(3, 5), (3, 9)]
    clique = hash_group_edges([[5, 3, 9]], touched={5})
    assert len(clique) == 3
    without_35 = clique.without(pair_keys(np.array([3]), np.array([5])))
    assert [g.tolist() for g in components(without_35)] == [[3, 5, 9]]  # 5 still via 9

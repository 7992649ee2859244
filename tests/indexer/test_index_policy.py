"""Specifications for indexer.index.policy: which index a collection gets by its size and the
memory budget, and that every approximate build measures recall and refuses a poor one."""

from __future__ import annotations

from collections.abc import Iterator

import faiss
import numpy as np
import pytest

from vitrieve.indexer.index.policy import (
    IndexBuildRefused,
    IndexPolicy,
    build_index,
    candidate_plans,
    estimate_mb,
    kind_of,
    needs_rebuild,
    nlist_for,
    plan_index,
)

POLICY = IndexPolicy(flat_max=50_000, memory_budget_mb=2048)


def clustered(n: int, dim: int = 32, clusters: int = 40, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres: neighbours are meaningful, as in a photo library."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((n, dim)).astype(np.float32) * (0.8 / np.sqrt(dim))
    x = centres[rng.integers(0, clusters, n)] + noise
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def loader(vectors: np.ndarray, ids: np.ndarray | None = None, chunk: int = 500):
    ids = np.arange(len(vectors), dtype=np.int64) * 3 + 7 if ids is None else ids

    def load() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for s in range(0, len(vectors), chunk):
            yield ids[s : s + chunk], vectors[s : s + chunk]

    return load, ids


def test_small_collections_get_an_exact_index() -> None:
    assert plan_index(50_000, 768, POLICY).kind == "flat"
    assert plan_index(10, 768, POLICY).exact


def test_past_flat_max_an_ivf_sq8_index_with_about_four_sqrt_n_lists() -> None:
    plan = plan_index(1_000_000, 768, POLICY)
    assert plan.kind == "IVF4096,SQ8"
    assert plan.nlist == nlist_for(1_000_000) == 4096
    assert plan.est_mb <= 1.5 * 1024  # the 1M target: index RAM within 1.5 GB


def test_ivf_flat_is_the_recall_fallback_only_when_it_fits_the_budget() -> None:
    roomy = IndexPolicy(flat_max=1000, memory_budget_mb=8192)
    assert [p.code for p in candidate_plans(1_000_000, 768, roomy)] == ["SQ8", "Flat"]
    assert [p.code for p in candidate_plans(1_000_000, 768, POLICY)] == ["SQ8"]


def test_pq_with_the_most_subquantizers_that_fit_when_sq8_does_not() -> None:
    plan = plan_index(10_000_000, 768, POLICY)
    assert plan.code.startswith("PQ")
    m = int(plan.code[2:])
    assert estimate_mb(10_000_000, 768, plan.code, plan.nlist) <= POLICY.memory_budget_mb
    bigger = [c for c in (384, 256, 192, 128, 96, 64, 48, 32) if c > m and 768 % c == 0]
    assert all(estimate_mb(10_000_000, 768, f"PQ{c}", plan.nlist) > 2048 for c in bigger)


def test_very_large_collections_use_an_hnsw_coarse_quantizer() -> None:
    plan = plan_index(100_000_000, 768, IndexPolicy(memory_budget_mb=64_000))
    assert plan.kind.startswith(f"IVF{plan.nlist}_HNSW32,")
    assert plan.nlist > 16_384


def test_lists_keep_enough_training_points_on_small_collections() -> None:
    for n in (100, 2_000, 60_000):
        assert 1 <= nlist_for(n) <= n // 39


@pytest.mark.parametrize(
    ("kind", "n_built", "n_now", "due"),
    [
        ("flat", 100, 50_000, False),
        ("flat", 100, 50_001, True),
        ("IVF1024,SQ8", 100_000, 199_999, False),
        ("IVF1024,SQ8", 100_000, 200_000, True),  # grew 2x since it was trained
        ("IVF1024,SQ8", 100_000, 50_000, True),  # shrank 2x
        ("IVF1024,SQ8", 60_000, 25_000, True),  # back in flat range
    ],
)
def test_rebuild_is_due_when_size_leaves_what_the_index_was_built_for(
    kind: str, n_built: int, n_now: int, due: bool
) -> None:
    assert needs_rebuild(kind, n_built, n_now, POLICY) is due


def test_approximate_build_measures_recall_and_holds_every_id() -> None:
    vectors = clustered(3000)
    load, ids = loader(vectors)
    policy = IndexPolicy(flat_max=1000, sample_queries=300)
    index, report = build_index(32, load, len(ids), policy)
    assert report.accepted and report.kind == kind_of(index) == f"IVF{nlist_for(3000)},SQ8"
    assert report.n == index.ntotal == 3000
    assert 0.95 <= report.recall_at_10 <= 1.0
    assert 1 <= report.params["nprobe"] <= report.params["nlist"]
    assert index.nprobe == report.params["nprobe"]
    assert report.params["queries"] >= 100
    held = faiss.extract_index_ivf(index).invlists
    got = np.concatenate(
        [faiss.rev_swig_ptr(held.get_ids(i), held.list_size(i)) for i in range(index.nlist)]
    )
    np.testing.assert_array_equal(np.sort(got), np.sort(ids))


def test_exact_build_is_flat_with_no_recall_to_measure() -> None:
    load, ids = loader(clustered(300))
    index, report = build_index(32, load, len(ids), POLICY)
    assert (report.kind, report.recall_at_10, report.accepted) == ("flat", None, True)
    assert index.ntotal == 300


def test_a_build_below_the_recall_floor_is_refused_with_its_report() -> None:
    rng = np.random.default_rng(3)
    noise = rng.standard_normal((3000, 32)).astype(np.float32)  # no structure: hard for PQ
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    load, ids = loader(noise)
    tiny_budget = IndexPolicy(flat_max=1000, memory_budget_mb=0.01, sample_queries=200)
    with pytest.raises(IndexBuildRefused, match="recall@10") as caught:
        build_index(32, load, len(ids), tiny_budget)
    (report,) = caught.value.reports
    assert report.kind.endswith(",PQ8") and not report.accepted
    assert report.recall_at_10 < 0.95

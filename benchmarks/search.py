"""Vector search at scale: the index vitrieve's policy picks vs exact flat search, same run.

For each size N: N synthetic clustered 768-d unit vectors (N/100 Gaussian clusters on the
sphere, per-cluster spread drawn so in-cluster neighbours are close but ranked by the noise),
plus held-out queries drawn from the same clusters (not in the index). Both indexes answer the
same queries through `VectorIndex.search` (the path the app uses):

- single-query latency p50/p99 (one query per call), QPS with all queries in one call;
- recall@10 of each index against the flat index's exact top-10;
- index_ram_mb: resident memory the index holds once loaded from its file (RSS delta, freed
  heap trimmed), index_file_mb its size on disk; build_peak_rss_mb the transient peak of the
  policy build over the starting RSS; build_s: the policy build, recall measurement included.

Usage: python -m benchmarks.search [--sizes 100000 1000000] [--queries 1000] [--quick]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `indexer` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from benchmarks.common import SEED, emit, log, machine

DIM = 768
CHUNK = 50_000


def clustered(n: int, n_queries: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """(vectors [n, 768], queries [n_queries, 768]), float32, unit length, generated in chunks."""
    rng = np.random.default_rng(seed)
    n_clusters = max(1, n // 100)
    centres = rng.standard_normal((n_clusters, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = rng.uniform(0.6, 1.2, n_clusters).astype(np.float32)

    def draw(count: int, out: np.ndarray) -> None:
        for s in range(0, count, CHUNK):
            e = min(count, s + CHUNK)
            which = rng.integers(0, n_clusters, e - s)
            noise = rng.standard_normal((e - s, DIM), dtype=np.float32) / np.sqrt(DIM)
            x = centres[which] + spread[which, None] * noise
            out[s:e] = x / np.linalg.norm(x, axis=1, keepdims=True)

    vectors = np.empty((n, DIM), dtype=np.float32)
    queries = np.empty((n_queries, DIM), dtype=np.float32)
    draw(n, vectors)
    draw(n_queries, queries)
    return vectors, queries


def _vm_mb(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mb() -> float:
    """Resident set after returning freed heap to the OS, so deltas are what is still held."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _vm_mb("VmRSS")


def reset_peak() -> None:
    """Linux: writing 5 to clear_refs resets VmHWM (peak RSS) to the current RSS."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def loaded(path: Path, index) -> tuple[object, float]:
    """Write `index`, drop it, read the file back: (VectorIndex, MB the loaded index holds).

    What a library holds after opening its index file; build-time slack is not counted."""
    import faiss

    from vitrieve.indexer.index.store import VectorIndex

    faiss.write_index(index, str(path))
    del index
    before = rss_mb()
    raw = faiss.read_index(str(path))
    return VectorIndex(path, DIM, raw), rss_mb() - before


def measure(index, queries: np.ndarray, single: int, truth: np.ndarray | None) -> dict:
    """Latency of `single` one-query calls, QPS of one batched call, recall vs `truth`."""
    index.search(queries[:2], k=10)  # warm-up
    times = []
    for q in queries[:single]:
        t = time.perf_counter()
        index.search(q, k=10)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    hits = index.search(queries, k=10)
    batch_s = time.perf_counter() - t
    found = np.array([[h.id for h in row] + [-1] * (10 - len(row)) for row in hits])
    recall = (
        1.0
        if truth is None
        else float(
            np.mean(
                [
                    len(set(a.tolist()) & set(b.tolist())) / 10
                    for a, b in zip(found, truth, strict=True)
                ]
            )
        )
    )
    return {
        "p50_ms": round(float(np.percentile(times, 50)) * 1000, 3),
        "p99_ms": round(float(np.percentile(times, 99)) * 1000, 3),
        "qps": round(len(queries) / batch_s, 1),
        "recall_at_10": round(recall, 4),
        "single_queries": len(times),
        "batch_queries": len(queries),
        "found": found,
    }


def run_size(n: int, n_queries: int, single: int, flat_single: int, work: Path) -> list[dict]:

    from vitrieve.indexer.index.policy import IndexPolicy, build_index, serialized_mb
    from vitrieve.indexer.index.store import VectorIndex

    log(f"n={n}: generating {n} clustered vectors + {n_queries} held-out queries")
    vectors, queries = clustered(n, n_queries)
    ids = np.arange(n, dtype=np.int64)

    def load():
        for s in range(0, n, 20_000):
            yield ids[s : s + 20_000], vectors[s : s + 20_000]

    policy = IndexPolicy()  # the shipped defaults (core.config.Settings)
    rss0 = rss_mb()
    reset_peak()
    log(f"n={n}: policy build (flat_max {policy.flat_max}, budget {policy.memory_budget_mb} MB)")
    raw, report = build_index(DIM, load, n, policy, progress=lambda m: log(f"  {m}"))
    build_peak = _vm_mb("VmHWM") - rss0
    file_mb = serialized_mb(raw)
    ann, ann_rss = loaded(work / f"ann-{n}.faiss", raw)
    del raw

    log(f"n={n}: flat exact index")
    t0 = time.perf_counter()
    flat_raw = VectorIndex.build(work / f"flat-{n}.faiss", DIM, load)._index
    flat_build = time.perf_counter() - t0
    flat, flat_rss = loaded(work / f"flat-{n}.faiss", flat_raw)
    del flat_raw
    log(f"n={n}: flat queries ({flat_single} single, {n_queries} batched)")
    exact = measure(flat, queries, flat_single, None)
    truth = exact.pop("found")
    flat_row = {
        "n": n,
        "index": "flat",
        **exact,
        "index_ram_mb": round(flat_rss, 1),
        "index_file_mb": round(n * (DIM * 4 + 8) / 2**20, 1),
        "build_s": round(flat_build, 2),
    }
    log(f"n={n}: flat {flat_row}")
    del flat
    gc.collect()

    log(f"n={n}: {report.kind} queries ({single} single, {n_queries} batched)")
    approx = measure(ann, queries, single, truth)
    approx.pop("found")
    ann_row = {
        "n": n,
        "index": report.kind,
        **approx,
        "index_ram_mb": round(ann_rss, 1),
        "index_file_mb": round(file_mb, 1),
        "build_peak_rss_mb": round(build_peak, 1),  # transient: sample, old + compacted copy
        "build_s": report.build_s,
        "nprobe": report.params.get("nprobe"),
        "build_recall_at_10": report.recall_at_10,  # stored vectors as queries, self excluded
        "build_params": report.params,
        "p50_speedup_vs_flat": round(flat_row["p50_ms"] / max(approx["p50_ms"], 1e-9), 1),
        "qps_ratio_vs_flat": round(approx["qps"] / max(flat_row["qps"], 1e-9), 1),
    }
    log(f"n={n}: {report.kind} { ({k: v for k, v in ann_row.items() if k != 'build_params'}) }")
    del ann
    return [flat_row, ann_row]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="default: 100000 1000000")
    ap.add_argument("--queries", type=int, default=1000, help="held-out queries per size")
    ap.add_argument("--single", type=int, default=500, help="one-query calls timed (ANN)")
    ap.add_argument("--flat-single", type=int, default=0, help="one-query calls (flat); 0: auto")
    ap.add_argument("--quick", action="store_true", help="smoke run: --sizes 20000 100000")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([20_000, 100_000] if args.quick else [100_000, 1_000_000])
    load0 = round(os.getloadavg()[0], 2)
    results = []
    with tempfile.TemporaryDirectory(prefix="vitrieve-bench-search-") as tmp:
        for n in sorted(sizes):
            # flat single queries cost ~N*768*4 bytes of memory traffic each: fewer at 1M
            flat_single = args.flat_single or max(20, min(args.single, 20_000_000 // n))
            results += run_size(n, args.queries, args.single, flat_single, Path(tmp))
    top = [r for r in results if r["n"] == max(sizes) and r["index"] != "flat"]
    target = None
    if top and top[0]["n"] >= 1_000_000:
        r = top[0]
        target = {
            "p50_ms_le_10": r["p50_ms"] <= 10,
            "recall_ge_0_95": r["recall_at_10"] >= 0.95,
            "ram_le_1536_mb": r["index_ram_mb"] <= 1536,
        }
    result = {
        "benchmark": "search",
        "dim": DIM,
        "results": results,
        "target_1m": target,
        "load_avg_1m": [load0, round(os.getloadavg()[0], 2)],
        "cores": os.cpu_count(),
        **machine(),
    }
    emit(result)
    return result


if __name__ == "__main__":
    main()

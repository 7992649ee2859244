"""Near-duplicate grouping at scale: time, peak RSS and agreement with the exact answer.

Data: N synthetic 768-d unit vectors stored as float16 (as the catalog stores them), in
clusters like a photo collection: ~30% of the vectors are in groups of 2-12 near-copies whose
pairwise cosines straddle the threshold (0.80-0.99, so groups chain), a few copies are exact,
the rest are unrelated; all vectors share a common direction and 64 "topic" directions, so
unrelated vectors have cosine ~0.25 and up to ~0.5 (ViT embeddings occupy a cone, too).

Runs, each in a fresh child process so its peak RSS belongs to it alone (VmHWM, reset after
the vectors are generated: Python, libraries, the vectors and the method's own memory):
- ``vitrieve``: search.duplicates.pairs.similar_pairs(method="auto") + connected components + the
  keeper-centred split of each component (search.duplicates.centred, in a synthetic keeper
  order: a random permutation, as the keeper rule is unrelated to the vectors): the grouping
  `vitrieve dups` does after loading the vectors from SQL.
- ``baseline``: brute force with FAISS, IndexFlatIP over float32 vectors and range_search in
  blocks of queries (every pair, exact). At N > --baseline-full-max only the first
  --baseline-queries queries run; its time is extrapolated (marked "estimated").

Agreement of the grouping with the exact one, by pair counting (the metric of `vitrieve eval
dups`): precision, recall and F1 over "same group" pairs. Where the baseline ran in full it
is computed over all pairs (adjusted Rand index too). At 1M the exact grouping is out of
reach (~hours of brute force here), so it is estimated on a uniform sample of vectors: the
exact group of each sampled vector is found by breadth-first exact range search from it;
with E(i) and A(i) the other members of i's exact and found groups, precision = sum|A∩E| /
sum|A| and recall = sum|A∩E| / sum|E| over the sample (ratio estimators of the pair counts).

Usage: python -m benchmarks.dups [--n 100000 1000000] [--threshold 0.9] [--quick]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `search` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import SEED, emit, log, machine, reset_peak_rss, vm_kib

ROOT = Path(__file__).resolve().parent.parent
DIM = 768


# -- data ------------------------------------------------------------------------------------


def clustered_vectors(n: int, d: int = DIM, seed: int = SEED) -> np.ndarray:
    """float16 [n, d] (see module doc); generated in chunks, never more than ~150 MB extra."""
    rng = np.random.default_rng(seed)
    mean = rng.standard_normal(d)
    mean /= np.linalg.norm(mean)
    topics = (rng.standard_normal((64, d)) / np.sqrt(d)).astype(np.float32)
    out = np.empty((n, d), np.float16)
    i = 0
    while i < n:
        m = 20_000  # clusters per chunk
        sizes = np.where(rng.random(m) < 0.882, 1, np.minimum(1 + rng.geometric(0.45, m), 12))
        sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), n - i)) + 1]
        sizes[-1] -= max(0, int(sizes.sum()) - (n - i))
        sizes = sizes[sizes > 0]
        k = len(sizes)
        centres = (
            0.55 * mean
            + (rng.standard_normal((k, 64)).astype(np.float32) @ topics) * (0.6 / 8)
            + rng.standard_normal((k, d)).astype(np.float32) * (0.7 / np.sqrt(d))
        ).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        members = np.repeat(centres, sizes, axis=0)
        in_group = np.repeat(sizes, sizes) > 1
        sigma = np.where(in_group, rng.uniform(0.12, 0.5, len(members)), 0.0)
        sigma[in_group & (rng.random(len(members)) < 0.05)] = 0.0  # exact copies
        noise = rng.standard_normal(members.shape).astype(np.float32) / np.sqrt(d)
        members += sigma[:, None].astype(np.float32) * noise
        members /= np.linalg.norm(members, axis=1, keepdims=True)
        out[i : i + len(members)] = members
        i += len(members)
    return out


def keeper_ranks(n: int, seed: int) -> np.ndarray:
    """Synthetic keeper order (position of each vector): the keeper rule looks at resolution,
    EXIF and size, which have nothing to do with where a vector lies."""
    return np.random.default_rng([seed, 1]).permutation(n)


# -- children --------------------------------------------------------------------------------


def _vm_kib(field: str) -> float:
    kib = vm_kib(field)
    if kib is not None:
        return kib
    import resource

    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class _LogProgress:
    def __init__(self) -> None:
        self.last: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self.last.get(stage, 0) > 15:
            self.last[stage] = now
            log(f"  {stage} {done}/{total}")


def child_vitrieve(args) -> dict:
    from vitrieve.search.duplicates.centred import keeper_centred
    from vitrieve.search.duplicates.graph import Edges, components
    from vitrieve.search.duplicates.pairs import similar_pairs

    x = clustered_vectors(args.n, seed=args.seed)
    data_rss = _vm_kib("VmRSS") / 1024
    reset = reset_peak_rss()
    t0 = time.perf_counter()
    pairs = similar_pairs(
        x, args.threshold, method=args.method, nprobe=args.nprobe, progress=_LogProgress()
    )
    edges = Edges(pairs.a, pairs.b, pairs.sim)
    searched = time.perf_counter()
    groups = components(edges)
    rank = keeper_ranks(args.n, args.seed)
    centred = keeper_centred(edges, lambda ids: ids[np.argsort(rank[ids])].tolist())
    seconds = time.perf_counter() - t0
    np.savez(args.out, a=pairs.a, b=pairs.b)
    return {
        "seconds": round(seconds, 2),
        "grouping_seconds": round(time.perf_counter() - searched, 2),
        "pairs": len(pairs),
        "groups": len(groups),
        "centred_groups": len(centred),
        "method": args.method,
        "data_rss_mb": round(data_rss, 1),
        "peak_rss_mb": round(_vm_kib("VmHWM") / 1024, 1),
        "peak_excludes_generation": reset,
    }


def child_baseline(args) -> dict:
    import faiss

    x = clustered_vectors(args.n, seed=args.seed)
    data_rss = _vm_kib("VmRSS") / 1024
    reset = reset_peak_rss()
    t0 = time.perf_counter()
    index = faiss.IndexFlatIP(DIM)
    for i in range(0, args.n, 65_536):
        block = x[i : i + 65_536].astype(np.float32)
        index.add(block / np.linalg.norm(block, axis=1, keepdims=True))
    build = time.perf_counter() - t0
    queries = args.n if args.queries <= 0 else min(args.queries, args.n)
    a_parts, b_parts = [], []
    progress = _LogProgress()
    t1 = time.perf_counter()
    for i in range(0, queries, 4096):
        q = x[i : min(i + 4096, queries)].astype(np.float32)
        lims, _, labels = index.range_search(
            q / np.linalg.norm(q, axis=1, keepdims=True), args.threshold
        )
        rows = np.repeat(np.arange(i, i + len(q)), np.diff(lims).astype(np.int64))
        keep = rows < labels
        a_parts.append(rows[keep])
        b_parts.append(labels[keep])
        progress("baseline queries", min(i + 4096, queries), queries)
    search = time.perf_counter() - t1
    complete = queries == args.n
    if complete:
        np.savez(args.out, a=np.concatenate(a_parts), b=np.concatenate(b_parts))
    return {
        "seconds": round(build + search * args.n / queries, 2),
        "estimated": not complete,
        "queries_run": queries,
        "data_rss_mb": round(data_rss, 1),
        "peak_rss_mb": round(_vm_kib("VmHWM") / 1024, 1),
        "peak_excludes_generation": reset,
    }


def run_child(kind: str, n: int, out: Path, args, extra: list[str]) -> dict:
    cmd = [
        sys.executable, "-m", "benchmarks.dups", "--child", kind, "--n", str(n),
        "--threshold", str(args.threshold), "--seed", str(args.seed), "--out", str(out), *extra,
    ]  # fmt: skip
    log(f"{kind} at n={n}")
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"child failed (rc {proc.returncode}): {' '.join(cmd)}")
    result = json.loads(lines[-1])
    log(f"  -> {result}")
    return result


# -- agreement -------------------------------------------------------------------------------


def labels_from_pairs(n: int, path: Path) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    data = np.load(path)
    a, b = data["a"], data["b"]
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def centred_labels(n: int, path: Path, seed: int) -> np.ndarray:
    """Keeper-centred group of every vector from saved pairs, in the benchmark's keeper order."""
    from vitrieve.search.duplicates.centred import keeper_centred
    from vitrieve.search.duplicates.graph import Edges

    data = np.load(path)
    a, b = data["a"].astype(np.int64), data["b"].astype(np.int64)
    rank = keeper_ranks(n, seed)
    edges = Edges(a, b, np.ones(len(a), np.float32))
    labels = np.arange(n)
    for group in keeper_centred(edges, lambda ids: ids[np.argsort(rank[ids])].tolist()):
        labels[group] = group[0]
    return labels


def full_agreement(exact: np.ndarray, found: np.ndarray) -> dict:
    from sklearn.metrics import adjusted_rand_score
    from sklearn.metrics.cluster import pair_confusion_matrix

    m = pair_confusion_matrix(exact, found) // 2
    tp, fp, fn = int(m[1, 1]), int(m[0, 1]), int(m[1, 0])
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {
        "pair_precision": round(p, 6),
        "pair_recall": round(r, 6),
        "pair_f1": round(2 * p * r / max(p + r, 1e-12), 6),
        "ari": round(adjusted_rand_score(exact, found), 6),
        "exact_pairs_in_groups": tp + fn,
    }


def exact_groups_of(x: np.ndarray, seeds: np.ndarray, threshold: float) -> list[set[int]]:
    """The exact group (connected component at the threshold) of each seed vector, by
    breadth-first exact range search over all vectors."""
    n = len(x)
    norms = np.empty(n, np.float32)
    for i in range(0, n, 65_536):
        b = x[i : i + 65_536].astype(np.float32)
        norms[i : i + 65_536] = np.linalg.norm(b, axis=1)
    neighbours: dict[int, np.ndarray] = {}
    frontier = np.unique(seeds)
    level = 0
    while len(frontier):
        level += 1
        log(f"  exact search level {level}: {len(frontier)} queries")
        q = x[frontier].astype(np.float32) / norms[frontier, None]
        found: list[list[int]] = [[] for _ in frontier]
        for i in range(0, n, 65_536):
            block = x[i : i + 65_536].astype(np.float32) / norms[i : i + 65_536, None]
            qi, di = np.nonzero(q @ block.T >= threshold)
            for k, j in zip(qi.tolist(), (di + i).tolist(), strict=True):
                found[k].append(j)
        for node, near in zip(frontier.tolist(), found, strict=True):
            neighbours[node] = np.asarray(near, np.int64)
        reached = np.unique(np.concatenate([neighbours[f] for f in frontier.tolist()]))
        frontier = reached[~np.isin(reached, np.fromiter(neighbours, np.int64))]
    groups = []
    for s in seeds.tolist():
        seen, stack = {s}, [s]
        while stack:
            for j in neighbours[stack.pop()].tolist():
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        groups.append(seen)
    return groups


def sampled_agreement(x, found: np.ndarray, threshold: float, size: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    seeds = np.sort(rng.choice(len(x), size=min(size, len(x)), replace=False))
    t0 = time.perf_counter()
    exact = exact_groups_of(x, seeds, threshold)
    order = np.argsort(found, kind="stable")
    starts = np.searchsorted(found[order], found[seeds])
    ends = np.searchsorted(found[order], found[seeds], side="right")
    inter = sum_a = sum_e = 0
    for s, e_group, lo, hi in zip(seeds.tolist(), exact, starts, ends, strict=True):
        a_group = set(order[lo:hi].tolist())
        inter += len((a_group & e_group) - {s})
        sum_a += len(a_group) - 1
        sum_e += len(e_group) - 1
    p, r = inter / max(sum_a, 1), inter / max(sum_e, 1)
    return {
        "sample": len(seeds),
        "sample_in_groups": sum(len(g) > 1 for g in exact),
        "pair_precision": round(p, 6),
        "pair_recall": round(r, 6),
        "pair_f1": round(2 * p * r / max(p + r, 1e-12), 6),
        "seconds": round(time.perf_counter() - t0, 1),
    }


# -- parent ----------------------------------------------------------------------------------


def measure(n: int, args, work: Path) -> dict:
    ours_file, base_file = work / f"vitrieve-{n}.npz", work / f"baseline-{n}.npz"
    ours = run_child(
        "vitrieve", n, ours_file, args, ["--nprobe", str(args.nprobe), "--method", args.method]
    )
    full = n <= args.baseline_full_max
    base = run_child(
        "baseline", n, base_file, args, ["--queries", "0" if full else str(args.baseline_queries)]
    )
    found = labels_from_pairs(n, ours_file)
    result = {
        "n": n,
        "vitrieve": ours,
        "baseline": base,
        "speedup_vs_baseline": round(base["seconds"] / max(ours["seconds"], 1e-9), 1),
    }
    if full:
        result["agreement"] = full_agreement(labels_from_pairs(n, base_file), found)
        result["agreement_centred"] = full_agreement(
            centred_labels(n, base_file, args.seed), centred_labels(n, ours_file, args.seed)
        )
    log(f"estimating agreement on a sample of {args.sample} vectors at n={n}")
    x = clustered_vectors(n, seed=args.seed)
    result["agreement_sampled"] = sampled_agreement(
        x, found, args.threshold, args.sample, args.seed
    )
    log(f"n={n}: {json.dumps(result)}")
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--quick", action="store_true", help="smoke run: --n 20000")
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--method", default="auto", help="vitrieve's pair search: auto, ivf, ...")
    ap.add_argument("--nprobe", type=int, default=4)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--sample", type=int, default=2000, help="vectors for sampled agreement")
    ap.add_argument("--baseline-full-max", type=int, default=200_000)
    ap.add_argument("--baseline-queries", type=int, default=2048)
    # child mode (internal)
    ap.add_argument("--child", choices=["vitrieve", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--queries", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        args.n = args.n[0]
        child = child_vitrieve if args.child == "vitrieve" else child_baseline
        emit(child(args) | {"n": args.n})
        return
    ns = [20_000] if args.quick else sorted(args.n)
    with tempfile.TemporaryDirectory(prefix="vitrieve-bench-dups-") as tmp:
        runs = [measure(n, args, Path(tmp)) for n in ns]
    emit(
        {
            "benchmark": "dups",
            "threshold": args.threshold,
            "nprobe": args.nprobe,
            "dim": DIM,
            "runs": runs,
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    main()

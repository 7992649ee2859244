"""Linear-probe tagging: training time on labelled vectors, apply time and memory over many.

Training: `train_from_ids` (label checks, vectors from SQL, k-fold cross-validation, final
fit, calibration, probe + manual tags saved) on `--train-n` stored 768-d vectors in
`--classes` classes. Baseline, same run, same data: one bare scikit-learn
`LogisticRegression(class_weight="balanced").fit`, with default BLAS threads and with one.

Apply: `apply_probe` over `--apply-n` stored vectors (SQLite), run in a child process so its
peak RSS (VmHWM) is its own. Baseline, same catalog: a child that only streams the same
vectors out of SQL (`iter_vectors`, same chunk size), the floor any apply pays. Apply runs
first at `--small-n` and again after the catalog grows to `--apply-n`: streaming means the
peak RSS stays flat while the vectors grow (all of them as float32 are reported for scale).

Vectors are synthetic (a mixture of one random centre per class plus noise, L2-normalised,
stored as float16 like real ones); the "model" is a 1-layer ViT with hidden size 768, made
here, whose only role is the model identity a probe is tied to (it never runs).

Usage: python -m benchmarks.tagging [--train-n 10000] [--classes 20] [--apply-n 1000000]
       [--small-n 200000] [--quick]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `indexer` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import SEED, emit, log, machine

ROOT = Path(__file__).resolve().parent.parent
DIM = 768
SPREAD = 8.0  # noise per dimension vs unit-normal centres: ~90% cross-validated accuracy
CHUNK = 20_000


def make_model(out: Path) -> Path:
    """A 1-layer ViT with the real model's hidden size: a model identity for the catalog."""
    import torch
    from transformers import ViTConfig, ViTModel

    torch.manual_seed(SEED)
    config = ViTConfig(hidden_size=DIM, num_hidden_layers=1, intermediate_size=64)
    ViTModel(config, add_pooling_layer=True).save_pretrained(out, safe_serialization=True)
    return out


def settings_for(home: Path, model: Path):
    from vitrieve.core.config import Settings

    return Settings(home=home, model=str(model), offline=True)


def vectors(start: int, stop: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Image ids start+1..stop: deterministic class and vector per id (any chunking)."""
    centres = np.random.default_rng(SEED).normal(size=(classes, DIM))
    rng = np.random.default_rng([SEED, start])
    y = rng.integers(0, classes, stop - start)
    X = centres[y] + SPREAD * rng.normal(size=(stop - start, DIM))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float16), y


def fill(lib, start: int, stop: int, classes: int) -> None:
    """Inserts images start+1..stop (embedded) with their vectors, in bulk."""
    from datetime import UTC, datetime

    from vitrieve.tables.catalog import Embedding, Image, ImageStatus, Root

    model_id = lib.model_row.id
    now = datetime.now(UTC)
    with lib.sessions.begin() as session:
        if session.get(Root, 1) is None:
            session.add(Root(id=1, path="/benchmark"))
    for lo in range(start, stop, CHUNK):
        hi = min(stop, lo + CHUNK)
        X, _ = vectors(lo, hi, classes)
        ids = range(lo + 1, hi + 1)
        with lib.sessions.begin() as session:
            session.execute(
                Image.__table__.insert(),
                [
                    {
                        "id": i,
                        "root_id": 1,
                        "rel_path": f"img{i:07d}.jpg",
                        "size": 1,
                        "mtime_ns": 0,
                        "content_hash": f"{i:032x}",
                        "status": ImageStatus.EMBEDDED,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            session.execute(
                Embedding.__table__.insert(),
                [
                    {
                        "image_id": i,
                        "model_id": model_id,
                        "content_hash": f"{i:032x}",
                        "vector": X[k].tobytes(),
                        "created_at": now,
                    }
                    for k, i in enumerate(ids)
                ],
            )
        if (hi // CHUNK) % 10 == 0 or hi == stop:
            log(f"catalog: {hi} vectors")


def bench_training(lib, n: int, classes: int) -> dict:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    from vitrieve.search.tagging.train import load_vectors, train_from_ids

    _, y = vectors(0, n, classes)
    labelled = {f"class{c:02d}": (np.flatnonzero(y == c) + 1).tolist() for c in range(classes)}
    log(f"training on {n} vectors, {classes} classes")
    t0 = time.perf_counter()
    result = train_from_ids(lib, "bench", labelled)
    seconds = time.perf_counter() - t0
    X = load_vectors(lib, np.arange(1, n + 1)).astype(np.float64)
    baseline = {}
    for threads in ("default", 1):
        log(f"baseline: one LogisticRegression fit, BLAS threads {threads}")
        limit = threadpool_limits(1, user_api="blas") if threads == 1 else threadpool_limits()
        with limit:
            t0 = time.perf_counter()
            LogisticRegression(class_weight="balanced", max_iter=1000).fit(X, y)
            baseline[threads] = time.perf_counter() - t0
    m = result.metrics
    return {
        "n": n,
        "classes": classes,
        "dim": DIM,
        "seconds": round(seconds, 2),
        "fit_seconds": m["train_seconds"],
        "folds": m["folds"],
        "cv_accuracy": round(m["accuracy"], 4),
        "cv_macro_f1": round(m["macro_f1"], 4),
        "baseline_one_fit_s_default_threads": round(baseline["default"], 2),
        "baseline_one_fit_s_one_thread": round(baseline[1], 2),
        "ratio_to_one_fit_one_thread": round(seconds / baseline[1], 2),
        "ratio_to_one_fit_default_threads": round(seconds / baseline["default"], 2),
    }


def child(kind: str, home: Path, model: Path) -> dict:
    """Runs in a fresh process: apply the probe, or only stream the vectors (baseline)."""
    from vitrieve.indexer.catalog import iter_vectors
    from vitrieve.indexer.library import Library
    from vitrieve.search.tagging.apply import DEFAULT_BATCH, apply_probe

    with Library(settings_for(home, model)) as lib:
        t0 = time.perf_counter()
        if kind == "apply":
            summary = apply_probe(lib, "bench")
            images, tags = summary.images, summary.tags
        else:
            row = lib.model_row
            images, tags = 0, 0
            for ids, _ in iter_vectors(lib.sessions, row.id, row.dim, chunk=DEFAULT_BATCH):
                images += len(ids)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "images": images, "tags": tags, "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> int:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so
    a child would report at least the RSS of the parent that forked it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def run_child(kind: str, home: Path, model: Path) -> dict:
    log(f"child: {kind}")
    cmd = [sys.executable, "-m", "benchmarks.tagging", "--child", kind]
    cmd += ["--home", str(home), "--model", str(model)]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_apply(home: Path, model: Path, n: int) -> dict:
    stream = run_child("stream", home, model)
    applied = run_child("apply", home, model)
    assert applied["images"] == n == stream["images"], (applied, stream, n)
    return {
        "n": n,
        "seconds": round(applied["seconds"], 2),
        "images_per_s": round(n / applied["seconds"]),
        "tags": applied["tags"],
        "peak_rss_mb": applied["peak_rss_mb"],
        "baseline_stream_seconds": round(stream["seconds"], 2),
        "baseline_stream_peak_rss_mb": stream["peak_rss_mb"],
        "ratio_to_stream": round(applied["seconds"] / stream["seconds"], 2),
        "all_vectors_float32_mb": round(n * DIM * 4 / 2**20),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-n", type=int, default=10_000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--apply-n", type=int, default=1_000_000)
    parser.add_argument("--small-n", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="2k train, 20k/50k apply")
    parser.add_argument("--workdir", type=Path, help="new folder to keep the catalog in")
    parser.add_argument("--child", choices=["apply", "stream"], help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        emit(child(args.child, args.home, args.model))
        return
    if args.quick:
        args.train_n, args.apply_n, args.small_n = 2_000, 50_000, 20_000
    from vitrieve.indexer.library import Library

    with tempfile.TemporaryDirectory(prefix="vitrieve-bench-tagging-") as tmp:
        if args.workdir:  # kept afterwards, for a look at the catalog
            tmp = args.workdir
            Path(tmp).mkdir(parents=True)
        model = make_model(Path(tmp) / "model")
        home = Path(tmp) / "home"
        with Library(settings_for(home, model)) as lib:
            fill(lib, 0, args.small_n, args.classes)
            train = bench_training(lib, args.train_n, args.classes)
        small = bench_apply(home, model, args.small_n)
        with Library(settings_for(home, model)) as lib:
            fill(lib, args.small_n, args.apply_n, args.classes)
        large = bench_apply(home, model, args.apply_n)
    emit(
        {
            "benchmark": "tagging",
            "machine": machine(),
            "train": train,
            "apply": large,
            "apply_small": small,
            "peak_rss_growth_mb": large["peak_rss_mb"] - small["peak_rss_mb"],
        }
    )


if __name__ == "__main__":
    main()

"""Background ingest throughput: 1 and 2 Celery worker processes vs in-process ingest.

In one run, on the same N generated JPEGs (640x480), each with a fresh library home (SQLite
catalog unless --database-url) and a private Redis (scripts/redis.sh, AOF on):

- baseline: `indexer.ingest.ingest(lib, [folder])` in this process, model loaded first;
- workers-1: one `celery worker --pool solo` consuming scan,embed,index;
- workers-2: two such processes (the second without `index`), torch threads split between them.

Workers are started and warmed up (model loaded by a small job) before the timed job, so
img_s = N / (enqueue -> job done), scan, batches and index saves included. Then the queue
latency of an empty task (`vitrieve.ping`, no work, answered through a Redis list) over
--pings round trips to an idle worker: p50/p99 round trip and sender->worker one way.

Model: a random full-size ViT-B/16 (benchmarks/common.py) unless --tiny (tests' 32-d ViT, which
makes overheads visible). Progress on stderr; one JSON object on the last line of stdout.

Usage: python -m benchmarks.workers [--n 400] [--tiny] [--pings 200] [--job-batch 32]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import cpu_flags, emit, log, machine, make_vit_b16

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "tiny-vit"


def make_jpegs(folder: Path, n: int, start: int = 0) -> Path:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        rng = np.random.default_rng(i)
        small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((640, 480), Image.Resampling.BICUBIC)
        arr = np.asarray(img, dtype=np.int16) + rng.normal(0, 8, (480, 640, 3)).astype(np.int16)
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(
            folder / f"img{i:06d}.jpg", quality=90
        )
    return folder


class Env:
    def __init__(self, args: argparse.Namespace, work: Path, model: Path, broker: str) -> None:
        self.args, self.work, self.model, self.broker = args, work, model, broker

    def settings(self, name: str, **extra):
        from vitrieve.core.config import Settings

        home = self.work / f"home-{name}"
        shutil.rmtree(home, ignore_errors=True)
        values = (
            dict(
                home=home,
                model=str(self.model),
                device="cpu",
                precision=self.args.precision,
                broker_url=self.broker,
                job_batch_size=self.args.job_batch,
                settle_seconds=0,
                database_url=self.args.database_url,
            )
            | extra
        )
        return Settings(**{k: v for k, v in values.items() if v is not None})

    def env(self, settings, threads: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VITRIEVE_")}
        for key in ("home", "model", "device", "precision", "broker_url", "job_batch_size"):
            env[f"VITRIEVE_{key.upper()}"] = str(getattr(settings, key))
        env["VITRIEVE_SETTLE_SECONDS"] = "0"
        env["VITRIEVE_DATABASE_URL"] = settings.catalog_url
        env["VITRIEVE_DECODE_WORKERS"] = str(threads)
        env["OMP_NUM_THREADS"] = str(threads)
        return env


def start_worker(env: dict, name: str, queues: str, log_dir: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "celery", "-A", "vitrieve.worker.app", "worker", "-Q", queues]
    argv += ["--pool", "solo", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"]
    argv += ["--without-mingle", "--without-gossip", "--loglevel", "INFO"]
    out = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 -- lives as long as the worker
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(log_file: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while "ready." not in log_file.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker not ready: {log_file}")
        time.sleep(0.2)


def run_job(app, lib, folder: Path, timeout: float = 3600) -> float:
    from vitrieve.worker.jobs import enqueue_scan
    from vitrieve.worker.report import list_jobs

    t0 = time.perf_counter()
    job_id = enqueue_scan(app, lib, [folder])
    deadline = time.monotonic() + timeout
    while True:
        [job] = list_jobs(lib, job_id=job_id)
        if job["state"] in ("done", "failed"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} not done after {timeout}s")
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    if job["state"] != "done":
        raise RuntimeError(f"job {job_id} failed: {job['error']}")
    return seconds


def workers_run(env_: Env, n_workers: int, photos: Path, warm: Path, pings: int) -> dict:
    from vitrieve.indexer.library import Library
    from vitrieve.worker.app import make_app

    settings = env_.settings(f"w{n_workers}")
    lib = Library(settings)  # migrated before the workers start
    app = make_app(settings)
    cores = os.cpu_count() or 1
    threads = max(1, cores // n_workers)
    env = env_.env(settings, threads)
    logs = env_.work / f"logs-w{n_workers}"
    logs.mkdir(exist_ok=True)
    procs = [start_worker(env, "w0", "scan,embed,index", logs)]
    procs += [start_worker(env, f"w{i}", "scan,embed", logs) for i in range(1, n_workers)]
    try:
        for i in range(n_workers):
            wait_ready(logs / f"w{i}.log")
        warm_s = run_job(app, lib, warm)
        log(f"  {n_workers} worker(s) ready; warm-up job {warm_s:.1f}s")
        seconds = run_job(app, lib, photos)
        result = {"seconds": round(seconds, 2), "img_s": round(env_.args.n / seconds, 2)}
        log(f"  {n_workers} worker(s): {result['img_s']} img/s")
        if pings:
            result["queue_latency_ms"] = queue_latency(app, env_.broker, pings)
        return result
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        lib.close()


def queue_latency(app, broker: str, pings: int) -> dict:
    import redis

    client = redis.Redis.from_url(broker)
    round_trip, one_way = [], []
    try:
        for _ in range(pings):
            key = f"vitrieve:bench:ping:{uuid.uuid4().hex}"
            sent = time.time()
            app.send_task("vitrieve.ping", args=[key], queue="scan")
            _, ran = client.blpop([key], timeout=30)
            round_trip.append(time.time() - sent)
            one_way.append(float(ran) - sent)
    finally:
        client.close()

    def pct(xs: list[float], q: float) -> float:
        xs = sorted(xs)
        return round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 2)

    return {
        "pings": pings,
        "round_trip_p50": pct(round_trip, 0.5),
        "round_trip_p99": pct(round_trip, 0.99),
        "one_way_p50": pct(one_way, 0.5),
        "one_way_p99": pct(one_way, 0.99),
        "mean": round(1000 * statistics.fmean(round_trip), 2),
    }


def inprocess_run(env_: Env, photos: Path) -> dict:
    from vitrieve.indexer.ingest import ingest
    from vitrieve.indexer.library import Library

    lib = Library(env_.settings("inprocess"))
    lib.embedder  # noqa: B018 -- load the model before the clock starts
    t0 = time.perf_counter()
    summary = ingest(lib, [photos])
    seconds = time.perf_counter() - t0
    lib.close()
    assert summary.embedded == env_.args.n, summary
    log(f"  in-process: {env_.args.n / seconds:.2f} img/s")
    return {"seconds": round(seconds, 2), "img_s": round(env_.args.n / seconds, 2)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--tiny", action="store_true", help="tests' 32-d ViT instead of ViT-B/16")
    ap.add_argument("--precision", default=None, help="default: bf16 if the CPU has avx512_bf16")
    ap.add_argument("--job-batch", type=int, default=32, help="images per embed task")
    ap.add_argument("--pings", type=int, default=200)
    ap.add_argument("--database-url", default=None, help="default: SQLite in each home")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    args.precision = args.precision or ("bf16" if "avx512_bf16" in cpu_flags() else "fp32")

    work = args.workdir or Path(tempfile.mkdtemp(prefix="vitrieve-bench-workers-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    redis_dir = work / "redis"
    shutil.rmtree(redis_dir, ignore_errors=True)
    broker = subprocess.run(
        ["bash", "scripts/redis.sh", "start", str(redis_dir)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    try:
        model = TINY if args.tiny else make_vit_b16(work / "vit-b16")
        log(f"generating {args.n} JPEGs (640x480)")
        photos = make_jpegs(work / "photos", args.n)
        warm = make_jpegs(work / "warm", 16, start=10_000_000)
        env_ = Env(args, work, model, broker)
        log("in-process ingest")
        base = inprocess_run(env_, photos)
        log("1 worker process")
        one = workers_run(env_, 1, photos, warm, args.pings)
        log("2 worker processes")
        two = workers_run(env_, 2, photos, warm, 0)
    finally:
        subprocess.run(["bash", "scripts/redis.sh", "stop", str(redis_dir)], cwd=ROOT)
    emit(
        {
            "benchmark": "workers",
            "machine": machine(),
            "n": args.n,
            "image": "640x480 JPEG q90",
            "model": "tiny-vit (32-d)" if args.tiny else "ViT-B/16 (random init)",
            "precision": args.precision,
            "job_batch_size": args.job_batch,
            "catalog": "postgresql" if args.database_url else "sqlite",
            "inprocess": base,
            "workers_1": {k: v for k, v in one.items() if k != "queue_latency_ms"},
            "workers_2": two,
            "ratio_1_worker_vs_inprocess": round(one["img_s"] / base["img_s"], 3),
            "ratio_2_workers_vs_inprocess": round(two["img_s"] / base["img_s"], 3),
            "ratio_2_vs_1_worker": round(two["img_s"] / one["img_s"], 3),
            "queue_latency_ms": one.get("queue_latency_ms"),
            "load_avg_1m": os.getloadavg()[0],
        }
    )


if __name__ == "__main__":
    main()

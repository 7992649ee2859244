"""Wall time of `vitrieve` commands that do not run the model, on a 10k-image catalog.

Why: every command used to pay 10-30 s before doing anything (importing transformers, asking
the model hubs for the weights). This measures what a user waits for: a fresh process per
command, `python -m vitrieve ...` from start to exit, as a ratio to `python -c pass` measured
in the same run (the cost of starting Python at all on this machine, at this load).

Data: one root of N images (default 10 000), all `embedded`, each a small stand-in file on
disk whose size and mtime the catalog has (so `ingest` of the root scans N files and finds
nothing new), with clustered 768-d float16 vectors (benchmarks/dups.py's generator: ~30% in
near-duplicate groups) stored straight into the catalog. The model is a full-size random
ViT-B/16 in a local directory, so its weight file (~350 MB) costs what the real one costs to
locate and identify. The index file is built once (untimed) before the runs, as after an
ingest.

Every command runs in two configurations: `local` (VITRIEVE_MODEL is that directory) and
`hub` (VITRIEVE_MODEL is the default kind of value, a hub id, whose weights are in the hub
cache, VITRIEVE_HUB_CACHE, in Hugging Face's cache layout: what `vitrieve model fetch` leaves).
`status (hub unreachable)` runs `status` with a hub id that is in no cache and both hubs
pointed at a closed loopback port: the first run on a machine without network.

Each command runs once untimed (page cache, `.pyc` files), then --repeats times; the median
wall time is reported, and the median CPU time (user + system) of the command's process,
which a busy machine inflates far less than wall time. Usage (from the repository root,
with the project venv):

    .venv/bin/python -m benchmarks.cli_latency [--n 10000] [--repeats 5] [--workdir DIR]
                                               [--compare CHECKOUT_OF_MAIN]

With --compare, every command also runs with the other checkout's code (same venv, same
catalog), alternating with this tree's runs, so "before" and "after" share the machine's load.

Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, log
from benchmarks.dups import clustered_vectors

ROOT = Path(__file__).resolve().parent.parent

COMMANDS: dict[str, list[str]] = {
    "help": ["--help"],
    "status": ["status"],
    "roots list": ["roots", "list"],
    "jobs": ["jobs"],
    "search --id": ["search", "--id", "1", "-k", "10"],
    "dups": ["dups", "--limit", "5"],
    "tag list": ["tag", "list"],
    "index rebuild": ["index", "rebuild"],
    "db upgrade": ["db", "upgrade"],
    "ingest (nothing new)": ["ingest", "{photos}"],
}
TARGETS_S = {"status": 1.5, "roots list": 1.5, "search --id": 1.5, "dups": 3.0}


def build_catalog(home: Path, model_dir: Path, n: int) -> None:
    """N embedded images with vectors, written directly (no decoding, no model run)."""
    from sqlalchemy import insert

    from vitrieve.core.config import Settings
    from vitrieve.indexer.catalog import encode_vector
    from vitrieve.indexer.library import Library
    from vitrieve.tables.catalog import Embedding, Image, ImageStatus, Root

    vectors = clustered_vectors(n)
    photos = home.parent / f"photos-{n}"
    settings = Settings(home=home, model=str(model_dir))
    with Library(settings) as lib:
        model = lib.model_row
        with lib.sessions.begin() as session:
            root = Root(path=str(photos))
            session.add(root)
            session.flush()
            images, embeddings = [], []
            for i in range(n):
                digest = f"{i:032x}"
                rel_path = f"{i // 1000:03d}/IMG_{i:06d}.jpg"
                file = photos / rel_path  # a stand-in on disk: `ingest` finds it unchanged
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_bytes(digest.encode())
                st = file.stat()
                images.append(
                    {
                        "id": i + 1,
                        "root_id": root.id,
                        "rel_path": rel_path,
                        "size": st.st_size,
                        "mtime_ns": st.st_mtime_ns,
                        "content_hash": digest,
                        "width": 4000,
                        "height": 3000,
                        "format": "JPEG",
                        # the keeper facts an ingest records (migration 0006); without them
                        # `dups` would try to measure them from these stand-in files every run
                        "camera": "Canon EOS R5",
                        "has_gps": False,
                        "jpeg_quality": 92,
                        "sharpness": 100.0 + i % 97,
                        "exposure": 0.8,
                        "status": ImageStatus.EMBEDDED,
                    }
                )
                embeddings.append(
                    {
                        "image_id": i + 1,
                        "model_id": model.id,
                        "content_hash": digest,
                        "vector": encode_vector(vectors[i].astype(np.float32)),
                    }
                )
            session.execute(insert(Image), images)
            session.execute(insert(Embedding), embeddings)
        lib.index()  # the index file, as an ingest leaves it


HUB_ID = "google/vit-base-patch16-224-in21k"


def hub_cache(work: Path, model_dir: Path) -> Path:
    """VITRIEVE_HUB_CACHE holding model_dir as a Hugging Face snapshot of HUB_ID."""
    cache = work / "hub-cache"
    snapshot = cache / "huggingface" / f"models--{HUB_ID.replace('/', '--')}" / "snapshots"
    snapshot = snapshot / ("0" * 40)
    if not snapshot.is_dir():
        snapshot.mkdir(parents=True)
        for f in model_dir.iterdir():
            os.link(f, snapshot / f.name)
        refs = snapshot.parents[1] / "refs"
        refs.mkdir()
        (refs / "main").write_text("0" * 40)
    return cache


def closed_port() -> int:
    """A loopback port nobody listens on: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system, the child's), exit status, stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    # cwd = the code tree: `python -m` puts the working directory first on sys.path.
    proc = subprocess.run(
        cmd, env=env, cwd=env["PYTHONPATH"], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode, proc.stderr


def timed(cmd: list[str], envs: dict[str, dict[str, str]], repeats: int) -> dict[str, dict]:
    """Median wall time of cmd under each env (code tree), their runs interleaved so that a
    change in the machine's load hits all of them alike. The first run of each is a warm-up."""
    runs: dict[str, list[float]] = {label: [] for label in envs}
    cpu: dict[str, list[float]] = {label: [] for label in envs}
    codes: dict[str, int] = {}
    for i in range(repeats + 1):
        for label, env in envs.items():
            seconds, cpu_s, rc, stderr = _run(cmd, env)
            if rc != 0 and i == 0:
                log(f"  {label} rc {rc}: {stderr.strip().splitlines()[-1:]}")
            codes[label] = rc
            if i:
                runs[label].append(seconds)
                cpu[label].append(cpu_s)
    return {
        label: {
            "median_s": round(statistics.median(times), 3),
            "best_s": round(min(times), 3),
            "cpu_s": round(statistics.median(cpu[label]), 3),
            "rc": codes[label],
        }
        for label, times in runs.items()
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="images in the catalog")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workdir", type=Path, help="keep the model and catalog here")
    ap.add_argument("--only", nargs="*", help="command names to run (default: all)")
    ap.add_argument(
        "--compare",
        type=Path,
        help="another checkout (e.g. of main): each command also runs with its code, "
        "interleaved with this tree's runs; reported as 'before'",
    )
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vitrieve-bench-cli-") as tmp:
        work = args.workdir or Path(tmp)
        model_dir = work / "vit-b16"
        if not (model_dir / "config.json").is_file():
            from benchmarks.common import make_vit_b16

            log("writing a random full-size ViT-B/16")
            make_vit_b16(model_dir)
        home = work / f"catalog-{args.n}"
        if not (home / "catalog.db").is_file():
            log(f"building a catalog of {args.n} images")
            build_catalog(home, model_dir, args.n)
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("VITRIEVE_", "HF_", "MODELS"))
        }
        env |= {"VITRIEVE_HOME": str(home), "VITRIEVE_MODEL": str(model_dir)}
        env["VITRIEVE_AUTO_CALIBRATE"] = "false"  # `ingest (nothing new)` would calibrate once
        env["PYTHONPATH"] = str(ROOT)
        python = [sys.executable]
        baseline = timed([*python, "-c", "pass"], {"after": env}, args.repeats)["after"]
        log(f"python -c pass: {baseline['median_s']}s")
        port = closed_port()
        offline_env = env | {
            "VITRIEVE_MODEL": "google/vit-base-patch16-224-in21k",
            "VITRIEVE_HUB_CACHE": str(work / "empty-hub-cache"),
            "HF_ENDPOINT": f"http://127.0.0.1:{port}",
            "MODELSCOPE_DOMAIN": f"127.0.0.1:{port}",
        }
        hub_env = env | {
            "VITRIEVE_MODEL": HUB_ID,
            "VITRIEVE_HUB_CACHE": str(hub_cache(work, model_dir)),
        }
        photos = str(work / f"photos-{args.n}")
        commands = {k: [a.replace("{photos}", photos) for a in v] for k, v in COMMANDS.items()}
        runs = [(name, cmd, env, args.repeats) for name, cmd in commands.items()]
        runs += [(f"{name} (hub)", cmd, hub_env, args.repeats) for name, cmd in commands.items()]
        runs.append(("status (hub unreachable)", ["status"], offline_env, 1))
        results: dict[str, dict] = {}
        for name, cmd, cmd_env, repeats in runs:
            if args.only and name.split(" (")[0] not in args.only:
                continue
            envs = {"after": cmd_env}
            if args.compare:
                envs = {"before": cmd_env | {"PYTHONPATH": str(args.compare)}} | envs
            timings = timed([*python, "-m", "vitrieve", *cmd], envs, repeats)
            for timing in timings.values():
                timing["ratio"] = round(timing["median_s"] / baseline["median_s"], 1)
                timing["cpu_ratio"] = round(timing["cpu_s"] / max(baseline["cpu_s"], 1e-3), 1)
            result = timings["after"]
            if "before" in timings:
                result["before"] = timings["before"]
            if name.split(" (")[0] in TARGETS_S:
                result["target_s"] = TARGETS_S[name.split(" (")[0]]
            results[name] = result
            log(f"{name}: {result}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    report = {
        "benchmark": "cli_latency",
        "n": args.n,
        "python_pass_s": baseline["median_s"],
        "python_pass_cpu_s": baseline["cpu_s"],
        "commands": results,
        "cores": os.cpu_count(),
        "load_avg_1m": load,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    emit(report)
    return report


if __name__ == "__main__":
    main()

"""End-to-end ingest: `indexer.ingest.ingest(Library(settings), [folder])` of N generated JPEGs.

Generates N 1600x1200 photo-like JPEGs (quality 90: gradients + noise + shapes, all different)
once per run in a temp dir, then ingests the first n of them for each n in `--n`, each in a
fresh child process with a fresh library home, so the child's peak RSS (ru_maxrss, model
included) belongs to that one ingest. The point is that peak RSS does not grow with n.

The model (random full-size ViT-B/16) is loaded, and with precision auto calibrated once,
before the timed ingest; every child reuses that calibration (copied precision cache), as a
real library would after its first run. img_s = images embedded / wall time of ingest().

With `--runtimes`, one n is ingested once per CPU runtime (torch fp32 and bf16, OpenVINO fp32,
bf16, int8 weights, and `auto`, vitrieve's own measured choice), each reported as a ratio to
torch fp32 in the same run, with the least cosine between its stored vectors and torch fp32's
for the same files. Each runtime is loaded (and an OpenVINO model converted) once before its
timed ingest, as a real library would after its first run.

Usage: python -m benchmarks.ingest [--n 1000 5000] [--batch-size 0] [--precision auto] [--quick]
       python -m benchmarks.ingest --runtimes [--n 200]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `indexer` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, log, machine, make_vit_b16, reset_peak_rss, vm_kib

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT, QUALITY = 1600, 1200, 90


# -- image set ---------------------------------------------------------------------------------


def _make_images(args: tuple[Path, int, int]) -> int:
    """Writes img{start..stop-1}.jpg: low-frequency colour field upscaled, noise, shapes."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    out, start, stop = args
    rng = np.random.default_rng(start)
    # one noise field per worker call, cropped at random offsets: cheap and never repeats
    noise = rng.normal(0, 9, (HEIGHT + 256, WIDTH + 256, 3)).astype(np.int16)
    for i in range(start, stop):
        rng = np.random.default_rng(1000003 * i + 17)
        small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)  # a few colour blobs
        base = Image.fromarray(small).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
        draw = ImageDraw.Draw(base)
        for _ in range(int(rng.integers(3, 9))):
            x0, y0 = int(rng.integers(-200, WIDTH)), int(rng.integers(-200, HEIGHT))
            x1, y1 = x0 + int(rng.integers(60, 700)), y0 + int(rng.integers(60, 600))
            fill = tuple(int(c) for c in rng.integers(0, 256, 3))
            shape = (draw.ellipse, draw.rectangle)[int(rng.integers(0, 2))]
            shape((x0, y0, x1, y1), fill=fill)
        base = base.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(1, 6))))
        dy, dx = int(rng.integers(0, 256)), int(rng.integers(0, 256))
        arr = np.asarray(base, dtype=np.int16) + noise[dy : dy + HEIGHT, dx : dx + WIDTH]
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        img.save(out / f"img{i:06d}.jpg", quality=QUALITY)
    return stop - start


def generate(out: Path, n: int, workers: int) -> float:
    out.mkdir(parents=True, exist_ok=True)
    have = len(list(out.glob("img*.jpg")))
    if have >= n:
        return 0.0
    t0 = time.perf_counter()
    chunk = 50
    jobs = [(out, s, min(s + chunk, n)) for s in range(have, n, chunk)]
    done = have
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for k in pool.map(_make_images, jobs):
            done += k
            if done % 500 < chunk or done == n:
                log(f"generated {done}/{n} JPEGs")
    return time.perf_counter() - t0


def link_subset(src: Path, dst: Path, n: int) -> Path:
    """A folder with the first n images, as hard links (no copy, same bytes)."""
    dst.mkdir(parents=True)
    for p in sorted(src.glob("img*.jpg"))[:n]:
        try:
            os.link(p, dst / p.name)
        except OSError:
            shutil.copy2(p, dst / p.name)
    return dst


# -- child: one measured ingest --------------------------------------------------------------


class _Progress:
    def __init__(self) -> None:
        self.last = 0.0

    def scanned(self, files: int) -> None:
        pass

    def embedding(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self.last > 20:
            self.last = now
            log(f"  embedded {done}/{total}")


def child(args: argparse.Namespace) -> None:
    from vitrieve.core.config import Settings
    from vitrieve.indexer.ingest import ingest
    from vitrieve.indexer.library import Library

    settings = Settings(
        home=args.home,
        model=str(args.model),
        device="cpu",
        precision=args.precision,
        runtime=args.runtime,
        batch_size=args.batch_size,
    )
    lib = Library(settings)
    t0 = time.perf_counter()
    embedder = lib.embedder  # load (and calibrate, if not cached) outside the timed ingest
    load_s = time.perf_counter() - t0
    rss_loaded = _peak_rss_mb()
    reset = reset_peak_rss()  # from here on VmHWM is the peak of the ingest alone
    if args.folder is None:  # calibration only
        emit(
            {
                "precision": embedder.precision,
                "runtime": embedder.runtime.name,
                "batch_size": embedder.batch_size,
                "load_s": round(load_s, 2),
            }
        )
        return
    t0 = time.perf_counter()
    summary = ingest(lib, [args.folder], progress=_Progress())
    wall = time.perf_counter() - t0
    if args.vectors is not None:
        _save_vectors(lib, args.vectors)
    lib.close()
    ingest_peak = _peak_rss_mb()  # since the reset, or the whole life where it failed
    emit(
        {
            "embedded": summary.embedded,
            "computed": summary.computed,
            "failed": summary.failed,
            "seconds": round(wall, 3),
            "stages": summary.stages,
            "precision": embedder.precision,
            "runtime": embedder.runtime.name,
            "batch_size": embedder.batch_size,
            "load_s": round(load_s, 2),
            "load_peak_rss_mb": round(rss_loaded, 1),
            "peak_rss_mb": round(max(rss_loaded, ingest_peak), 1),
            "ingest_peak_rss_mb": round(ingest_peak, 1) if reset else None,
            "end_rss_mb": round(_vm_kib("VmRSS") / 1024, 1),
            "ru_maxrss_mb": round(_maxrss_mb(), 1),
        }
    )


def _save_vectors(lib, out: Path) -> None:
    """The stored vectors of this ingest, by file name, for the cross-runtime cosine."""
    import numpy as np
    from sqlalchemy import select

    from vitrieve.indexer.catalog import decode_vectors
    from vitrieve.tables.catalog import Embedding, Image

    with lib.sessions() as session:
        rows = session.execute(
            select(Image.rel_path, Embedding.vector)
            .join(Embedding, Embedding.image_id == Image.id)
            .order_by(Image.rel_path)
        ).all()
    np.save(out, decode_vectors([r[1] for r in rows], lib.model_info.dim))
    out.with_suffix(".json").write_text(json.dumps([r[0] for r in rows]))


def _vm_kib(field: str) -> float:
    """A field of /proc/self/status in KiB (0 where there is no procfs)."""
    kib = vm_kib(field)
    return 0.0 if kib is None else kib


def _peak_rss_mb() -> float:
    """Peak RSS of this process over its whole life, model loading included.

    VmHWM belongs to this process's own address space; ru_maxrss can also carry the parent's
    peak into a child started by vfork+exec, so it is only the fallback.
    """
    hwm = _vm_kib("VmHWM") / 1024
    return hwm if hwm else _maxrss_mb()


def _maxrss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb / (1 << 20) if sys.platform == "darwin" else kb / 1024


def run_child(extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.ingest", "--child", *extra]
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"child failed (rc {proc.returncode}): {' '.join(cmd)}")
    return json.loads(lines[-1])


# -- parent ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=None, help="default: 1000 5000")
    ap.add_argument("--quick", action="store_true", help="smoke run: --n 200 400")
    ap.add_argument("--batch-size", type=int, default=0, help="0: vitrieve's default per device")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--runtime", default="auto", help=argparse.SUPPRESS)
    ap.add_argument("--runtimes", action="store_true", help="compare every CPU runtime")
    ap.add_argument("--workdir", type=Path, default=None, help="keep images here (default: temp)")
    # child mode (internal)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--vectors", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args)
        return

    default = [200] if args.runtimes else [200, 400] if args.quick else [1000, 5000]
    ns = sorted(args.n or default)
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="vitrieve-bench-ingest-")
        work = Path(tmp.name)
    else:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    try:
        result = _compare_runtimes(args, ns[0], work) if args.runtimes else _run(args, ns, work)
    finally:
        if tmp is not None:
            tmp.cleanup()
    emit(result)


def _run(args: argparse.Namespace, ns: list[int], work: Path) -> dict:
    common = ["--batch-size", str(args.batch_size), "--precision", args.precision]
    model = work / "vit-b16"
    if not (model / "config.json").is_file():
        log("building a random full-size ViT-B/16")
        make_vit_b16(model)
    log(f"generating {ns[-1]} JPEGs {WIDTH}x{HEIGHT} q{QUALITY} in {work / 'images'}")
    gen_s = generate(work / "images", ns[-1], workers=os.cpu_count() or 1)

    log("loading the model once to settle the precision (calibration cached for the children)")
    calib_home = work / "home-calibrate"
    shutil.rmtree(calib_home, ignore_errors=True)
    calib = run_child(["--home", str(calib_home), "--model", str(model), *common])
    log(f"precision: {calib['precision']} (load + calibration {calib['load_s']}s)")

    results = []
    for n in ns:
        home = work / f"home-{n}"
        folder = work / f"set-{n}"
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        link_subset(work / "images", folder, n)
        (home / "cache").mkdir(parents=True)
        cache = calib_home / "cache" / "runtime.json"
        if cache.is_file():
            shutil.copy2(cache, home / "cache" / "runtime.json")
        log(f"ingesting {n} images in a fresh process")
        where = ["--home", str(home), "--model", str(model), "--folder", str(folder)]
        r = run_child([*where, *common])
        if r["embedded"] != n or r["failed"]:
            raise SystemExit(f"n={n}: embedded {r['embedded']}, failed {r['failed']}")
        r = {"n": n, "img_s": round(n / r["seconds"], 2), **r}
        log(
            f"n={n}: {r['img_s']} img/s, peak RSS {r['peak_rss_mb']} MB "
            f"(model load {r['load_peak_rss_mb']} MB, ingest alone {r['ingest_peak_rss_mb']} MB, "
            f"ru_maxrss {r['ru_maxrss_mb']} MB), stages {r['stages']}"
        )
        results.append(r)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)

    last = results[-1]
    return {
        "benchmark": "ingest",
        "results": results,
        "rss_growth": round(last["peak_rss_mb"] / results[0]["peak_rss_mb"] - 1, 4),
        "n": ns,
        "img_s": last["img_s"],
        "peak_rss_mb": last["peak_rss_mb"],
        "stages": last["stages"],
        "precision": last["precision"],
        "batch_size": last["batch_size"],
        "image_size": [WIDTH, HEIGHT],
        "jpeg_quality": QUALITY,
        "generate_s": round(gen_s, 1),
        "cores": os.cpu_count(),
        **machine(),
    }


RUNTIMES = (
    ("torch", "fp32"),
    ("torch", "bf16"),
    ("openvino", "fp32"),
    ("openvino", "bf16"),
    ("openvino", "int8-fp32"),
    ("openvino", "int8-bf16"),
    ("auto", "auto"),
)


def _compare_runtimes(args: argparse.Namespace, n: int, work: Path) -> dict:
    import numpy as np

    from vitrieve.indexer.runtimes.abilities import detect
    from vitrieve.indexer.runtimes.select import ISA_CAPS

    model = work / "vit-b16"
    if not (model / "config.json").is_file():
        log("building a random full-size ViT-B/16")
        make_vit_b16(model)
    log(f"generating {n} JPEGs {WIDTH}x{HEIGHT} q{QUALITY}")
    gen_s = generate(work / "images", n, workers=os.cpu_count() or 1)
    folder = work / f"set-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    link_subset(work / "images", folder, n)
    can = detect()
    results: dict[str, dict] = {}
    reference: np.ndarray | None = None
    for engine, precision in RUNTIMES:
        name = f"{engine} {precision}"
        if engine == "openvino" and (
            can.openvino is not None or (precision.endswith("bf16") and not can.openvino_bf16)
        ):
            results[name] = {"skipped": can.openvino or "no bf16 in OpenVINO on this CPU"}
            continue
        home = work / f"home-{engine}-{precision}"
        shutil.rmtree(home, ignore_errors=True)
        common = [
            "--model",
            str(model),
            "--batch-size",
            str(args.batch_size),
            "--runtime",
            engine,
            "--precision",
            precision,
        ]
        loaded = run_child(["--home", str(home), *common])  # converts / measures once
        log(
            f"{name}: runs as {loaded['runtime']}, batch {loaded['batch_size']} "
            f"(load {loaded['load_s']} s)"
        )
        vectors = work / f"vectors-{engine}-{precision}.npy"
        r = run_child(
            ["--home", str(home), "--folder", str(folder), "--vectors", str(vectors), *common]
        )
        got = np.load(vectors)
        if reference is None:
            reference = got  # torch fp32 comes first
        r = {"img_s": round(n / r["seconds"], 2), "first_load_s": loaded["load_s"], **r}
        r["min_cos"] = round(float(np.min(np.sum(got * reference, axis=1))), 6)
        results[name] = r
        log(f"{name}: {r['img_s']} img/s, min cos {r['min_cos']}, stages {r['stages']}")
        shutil.rmtree(home, ignore_errors=True)
    base = results["torch fp32"]["img_s"]
    for r in results.values():
        if "img_s" in r:
            r["ratio_vs_torch_fp32"] = round(r["img_s"] / base, 2)
    return {
        "benchmark": "ingest_runtimes",
        "n": n,
        "results": results,
        "auto_choice": results["auto auto"].get("runtime"),
        "auto_ratio": results["auto auto"].get("ratio_vs_torch_fp32"),
        "image_size": [WIDTH, HEIGHT],
        "generate_s": round(gen_s, 1),
        "cores": os.cpu_count(),
        "isa_cap": {k: os.environ[k] for k in ISA_CAPS if k in os.environ},
        **machine(),
    }


if __name__ == "__main__":
    main()

"""What `vitrieve calibrate` costs, as a ratio to a plain ingest of the same photos.

A random full-size ViT-B/16 (benchmarks/common.py), N real photos: scikit-image's bundled
photos and their copies from benchmarks/make_dup_set.py (17 files per photo; more seeds until
there are N). In one process and one library: the model is loaded (and with the default
`--precision auto` its runtime measured) before anything is timed, as in a library that has run
once; then `ingest` of the N photos is timed, then `calibrate` sampling all of them (or
`--images`). For each: wall seconds, CPU seconds (all threads), peak RSS (VmHWM, reset before
each stage where the kernel allows, so the figure is that stage's own peak) and embeddings per
second. The calibration embeds 7 edits per sampled photo, the ingest one image per photo.
`ratio_per_photo` compares seconds per photo, for a calibration of fewer photos (`--images`) on
a loaded box.

`default_sample_s` projects the default sample (VITRIEVE_CALIBRATION_IMAGES) at the measured
calibration speed: the number to hold to "about 3 minutes on a 2-core CPU".

Usage: python -m benchmarks.calibration_cost [--n 200] [--images N] [--precision auto]
       python -m benchmarks.calibration_cost --model tests/fixtures/tiny-vit   # a quick check
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `indexer` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import cpu_s, emit, log, machine, make_vit_b16, reset_peak_rss, vm_kib
from benchmarks.make_dup_set import build_set, write_skimage_originals

T = TypeVar("T")


def real_photos(work: Path, n: int) -> Path:
    """At least n real photos in work/photos (make_dup_set sets of more seeds), exactly n kept."""
    originals = write_skimage_originals(work / "originals")
    photos = work / "photos"
    seed = 0
    while len(list(photos.rglob("*.*"))) < n:
        build_set(originals, work / f"set-{seed}", seed=seed, flat=True)
        for f in sorted((work / f"set-{seed}" / "images").iterdir()):
            (photos / f"s{seed}").mkdir(parents=True, exist_ok=True)
            shutil.move(f, photos / f"s{seed}" / f.name)
        seed += 1
    for extra in sorted(photos.rglob("*.*"))[n:]:
        extra.unlink()
    return photos


def _stage(run: Callable[[], T]) -> tuple[T, dict]:
    reset = reset_peak_rss()
    wall, cpu = time.perf_counter(), cpu_s()
    value = run()
    seconds, used = time.perf_counter() - wall, cpu_s() - cpu
    peak = (vm_kib("VmHWM") or 0) / 1024
    return value, {
        "seconds": round(seconds, 1),
        "cpu_s": round(used, 1),
        "peak_rss_mb": round(peak, 1) if reset else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="photos ingested (>= 200)")
    parser.add_argument("--images", type=int, default=None, help="photos calibration samples")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--batch-size", type=int, default=0, help="0: the runtime's choice")
    parser.add_argument("--model", type=Path, default=None, help="default: random ViT-B/16")
    args = parser.parse_args(argv)

    from vitrieve.core.config import Settings
    from vitrieve.indexer.ingest import ingest
    from vitrieve.indexer.library import Library
    from vitrieve.search.duplicates.calibrate import calibrate

    load_start = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="vitrieve-bench-calibration-cost-") as tmp:
        work = Path(tmp)
        log(f"writing {args.n} real photos")
        photos = real_photos(work, args.n)
        if args.model is None:
            log("building a random full-size ViT-B/16")
        model = args.model or make_vit_b16(work / "vit-b16")
        settings = Settings(
            home=work / "home",
            model=str(model),
            precision=args.precision,
            runtime=args.runtime,
            batch_size=args.batch_size,
            auto_calibrate=False,
        )
        with Library(settings) as lib:
            log(f"loading the model (precision {args.precision}, runtime {args.runtime})")
            runtime = lib.embedder.runtime.name
            log("timed: ingest")
            summary, ingest_cost = _stage(lambda: ingest(lib, [photos]))
            embedded = summary.embedded
            log(f"ingest: {ingest_cost}; timed: calibrate")
            result, calib_cost = _stage(lambda: calibrate(lib, images=args.images))
            sample = result.sample_size
            edits = 7 * sample
            default = lib.settings.calibration_images
    ingest_rate = embedded / ingest_cost["seconds"] if ingest_cost["seconds"] else None
    calib_rate = edits / calib_cost["seconds"] if calib_cost["seconds"] else None
    emit(
        {
            "benchmark": "calibration_cost",
            "photos": args.n,
            "runtime": runtime,
            "ingest": ingest_cost | {"embedded": embedded},
            "calibration": calib_cost | {"sample": sample, "embeddings": edits},
            "ratio_wall": round(calib_cost["seconds"] / ingest_cost["seconds"], 2),
            "ratio_cpu": round(calib_cost["cpu_s"] / ingest_cost["cpu_s"], 2),
            # per photo: a calibration of fewer photos than were ingested (--images) compares
            "ratio_per_photo": round(
                (calib_cost["seconds"] / sample) / (ingest_cost["seconds"] / args.n), 2
            ),
            "ingest_img_s": round(ingest_rate, 2) if ingest_rate else None,
            "calibration_embeddings_s": round(calib_rate, 2) if calib_rate else None,
            "default_sample": default,
            "default_sample_s": round(7 * default / calib_rate, 1) if calib_rate else None,
            "threshold": result.threshold,
            "load_avg_1m": [load_start, round(os.getloadavg()[0], 2)],
            **machine(),
        }
    )


if __name__ == "__main__":
    main()

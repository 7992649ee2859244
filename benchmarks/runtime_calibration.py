"""The runtime calibration's cost on this machine: wall and CPU seconds of a first run (OpenVINO
conversion and compression included) and of a remembered one, and peak memory against the
fp32 model alone (the calibration may hold at most one model copy beside the fp32 reference).

A random full-size ViT-B/16, a fresh cache folder. Peak RSS is VmHWM, reset after the fp32
model is loaded, so the figure is what measuring adds.

Usage: python -m benchmarks.runtime_calibration
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import cpu_s, emit, log, machine, make_vit_b16, reset_peak_rss, vm_kib


def main() -> None:
    from vitrieve.indexer.embedder import Embedder
    from vitrieve.indexer.model_source import locate_model

    load_start = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="vitrieve-bench-calibration-") as tmp:
        work = Path(tmp)
        log("building a random full-size ViT-B/16")
        location = locate_model(str(make_vit_b16(work / "vit-b16")))
        log("loading the fp32 model alone (torch, no measuring)")
        Embedder(location, device="cpu", runtime="torch", precision="fp32")
        fp32_mb = (vm_kib("VmRSS") or 0) / 1024
        reset = reset_peak_rss()
        log("first calibration")
        wall, cpu = time.perf_counter(), cpu_s()
        first = Embedder(location, device="cpu", cache_dir=work / "cache")
        first_s, first_cpu = time.perf_counter() - wall, cpu_s() - cpu
        peak_mb = (vm_kib("VmHWM") or 0) / 1024
        choice = first.runtime.name
        measured = {
            m.runtime: {"img_s": m.img_s, "min_cos": m.min_cos, "kept": m.kept}
            for m in (first.decision.measured if first.decision else [])
        }
        del first
        log("a later start: the remembered choice")
        wall, cpu = time.perf_counter(), cpu_s()
        again = Embedder(location, device="cpu", cache_dir=work / "cache")
        again_s, again_cpu = time.perf_counter() - wall, cpu_s() - cpu
    emit(
        {
            "benchmark": "runtime_calibration",
            "choice": choice,
            "remembered_choice": again.runtime.name,
            "measured": measured,
            "first_run_s": round(first_s, 1),
            "first_run_cpu_s": round(first_cpu, 1),
            "remembered_s": round(again_s, 1),
            "remembered_cpu_s": round(again_cpu, 1),
            "rss_after_fp32_load_mb": round(fp32_mb, 1),
            "peak_rss_during_calibration_mb": round(peak_mb, 1) if reset else None,
            "load_avg_1m": [load_start, round(os.getloadavg()[0], 2)],
            **machine(),
        }
    )


if __name__ == "__main__":
    main()

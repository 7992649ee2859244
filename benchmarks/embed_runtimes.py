"""`benchmarks.embed --runtimes`: every CPU runtime against torch fp32, in one process and run.

Each runtime is built the way vitrieve builds it (`indexer.runtimes.select.build`: OpenVINO
models converted and cached on first use, conversion time reported), then timed interleaved with
the torch fp32 reference at each batch size, so load on the machine hits both alike. Only one
runtime besides the reference is in memory at a time. The `auto` row is what vitrieve's own
calibration chose here (`Embedder`), with the seconds that calibration took.
"""

from __future__ import annotations

import gc
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import log, machine, make_vit_b16
from benchmarks.embed import real_photos, synthetic_photos
from vitrieve.indexer.runtimes.select import ISA_CAPS


def _timed(forward, pixels: np.ndarray) -> float:
    started = time.perf_counter()
    forward(pixels)
    return time.perf_counter() - started


def compare(sizes: list[int], reps: int) -> dict:
    from transformers import ViTModel

    from vitrieve.indexer.embedder import Embedder
    from vitrieve.indexer.model_source import locate_model, read_model_info
    from vitrieve.indexer.preprocess import PreprocessSpec
    from vitrieve.indexer.runtimes.abilities import detect
    from vitrieve.indexer.runtimes.candidates import REFERENCE, cpu_candidates
    from vitrieve.indexer.runtimes.forwards import TorchForward
    from vitrieve.indexer.runtimes.select import Request, build

    load_start = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="vitrieve-bench-runtimes-") as tmp:
        work = Path(tmp)
        log("building a random full-size ViT-B/16")
        model_dir = make_vit_b16(work / "vit-b16")
        location = locate_model(str(model_dir))
        spec = PreprocessSpec.from_model_dir(model_dir)
        model = ViTModel.from_pretrained(model_dir, attn_implementation="sdpa").eval()
        req = Request(
            model=model,
            model_dir=model_dir,
            spec=spec,
            weights_hash=read_model_info(location).weights_hash,
            cache_dir=work / "cache",
        )
        photos = [im for _, im in real_photos() + synthetic_photos(8)]
        photo_px = np.stack([spec.resize(im) for im in photos])
        batch = {n: np.stack([photo_px[i % len(photo_px)] for i in range(n)]) for n in sizes}
        reference = TorchForward(model, torch.float32, spec)
        truth = np.concatenate([reference(photo_px[i : i + 8]) for i in range(0, len(photo_px), 8)])
        can = detect()
        rows: dict[str, dict] = {}
        for runtime in cpu_candidates("auto", "auto", can):
            log(f"{runtime.name}: building")
            started = time.perf_counter()
            try:
                forward = reference if runtime == REFERENCE else build(req, runtime)
            except Exception as exc:
                rows[runtime.name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
                continue
            row: dict = {"build_s": round(time.perf_counter() - started, 1)}
            got = np.concatenate([forward(photo_px[i : i + 8]) for i in range(0, len(photo_px), 8)])
            row["min_cos"] = round(float(np.min(np.sum(got * truth, axis=1))), 6)
            for n in sizes:
                forward(batch[n])  # warm-up
                reference(batch[n])
                ours, base = [], []
                for _ in range(reps):  # interleaved with the reference
                    ours.append(_timed(forward, batch[n]))
                    base.append(_timed(reference, batch[n]))
                row[f"bs{n}_img_s"] = round(n / statistics.median(ours), 2)
                row[f"bs{n}_ratio"] = round(statistics.median(base) / statistics.median(ours), 2)
            log(f"{runtime.name}: {row}")
            rows[runtime.name] = row
            forward = None
            gc.collect()
        log("auto: vitrieve's own calibration")
        started = time.perf_counter()
        emb = Embedder(location, device="cpu", cache_dir=work / "cache-auto")
        auto = {
            "choice": emb.runtime.name,
            "batch_size": emb.batch_size,
            "calibration_s": round(time.perf_counter() - started, 1),
            "calibration": emb.decision.to_dict() if emb.decision else None,
        }
        chosen = rows.get(emb.runtime.name, {})
        auto |= {k: v for k, v in chosen.items() if k.endswith("_ratio") or k == "min_cos"}
    return {
        "benchmark": "embed_runtimes",
        "runtimes": rows,
        "auto": auto,
        "sizes": sizes,
        "reps": reps,
        "threads": torch.get_num_threads(),
        "openvino": can.openvino or "available",
        "openvino_bf16": can.openvino_bf16,
        "isa_cap": {k: os.environ[k] for k in ISA_CAPS if k in os.environ},
        "load_avg_1m": [load_start, round(os.getloadavg()[0], 2)],
        **machine(),
    }

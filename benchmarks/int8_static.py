"""`python -m benchmarks.int8_static [--configs a,b] [--subset N]`: can NNCF's static int8
(activations and weights) keep cosine >= 0.999 to torch fp32 on real photos? (issue 21, the
AVX2-only target)

A random full-size ViT-B/16 is converted to OpenVINO fp32 the way vitrieve converts it
(`runtimes.convert`), then quantized with each configuration below on N images: the runtime
calibration's own (`--calib runtime`, `embedder.calibration_pixels`: gradients + noise) or
benchmarks.embed's synthetic scenes (`--calib scenes`). Each quantized model's min cosine
(pooler output) against torch fp32 is measured on real photos (scikit-image's and
scikit-learn's samples; `min_cos`) and on the runtime calibration's images (`gate_min_cos`: what
its 0.999 floor would see), and its speed at batch 8 interleaved with torch fp32 pass by pass.
Run it with the ISA capped (ONEDNN_MAX_CPU_ISA=AVX2 OV_CPU_MAX_ISA=AVX2
ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2) for the AVX2-only stand-in.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.common import emit, log, machine, make_vit_b16
from benchmarks.embed import real_photos, synthetic_photos
from vitrieve.indexer.runtimes.select import ISA_CAPS

ATTN = r".*attention\.(q|k|v)_proj.*"
FC2 = r".*mlp\.fc2.*"
PATCH = r".*patch_embeddings.*"


def _last(n: int) -> str:
    return r".*(pooler|layers\.(" + "|".join(str(11 - i) for i in range(n)) + r")\.).*"


def _blocks(*bs: int) -> str:
    return r".*layers\.(" + "|".join(str(b) for b in bs) + r")\..*"


def _only_block(b: int) -> str:
    others = "|".join(str(i) for i in range(12) if i != b)
    return r".*(pooler|layers\.(" + others + r")\.).*"


#: name -> (preset, model_type transformer?, smooth quant alpha or None (nncf default), ignored)
CONFIGS: dict[str, tuple[str, bool, float | None, list[str]]] = {
    "plain": ("performance", False, None, []),
    "transformer": ("performance", True, None, []),
    "transformer-mixed": ("mixed", True, -1.0, []),
    "tr-mixed-sq0.5": ("mixed", True, 0.5, []),
    "tr-mixed-sq0.95": ("mixed", True, 0.95, []),
    "tr-mixed-nosq": ("mixed", True, -1.0, []),
    "tr-mixed-no-last2": ("mixed", True, -1.0, [_last(2)]),
    "tr-mixed-no-fc2": ("mixed", True, -1.0, [FC2]),
    "tr-mixed-no-fc2-last2": ("mixed", True, -1.0, [FC2, _last(2)]),
    "tr-mixed-no-attn": ("mixed", True, -1.0, [ATTN]),
    "tr-mixed-no-patch-b0": ("mixed", True, -1.0, [PATCH, _blocks(0)]),
    "tr-mixed-no-patch-b01": ("mixed", True, -1.0, [PATCH, _blocks(0, 1)]),
    "tr-mixed-no-patch-b01-fc2": ("mixed", True, -1.0, [PATCH, _blocks(0, 1), FC2]),
    "tr-mixed-no-patch-b0-3": ("mixed", True, -1.0, [PATCH, _blocks(0, 1, 2, 3)]),
    "tr-mixed-no-patch-b0-5-fc2": ("mixed", True, -1.0, [PATCH, _blocks(0, 1, 2, 3, 4, 5), FC2]),
    "tr-mixed-no-patch-b0-fc2": ("mixed", True, -1.0, [PATCH, _blocks(0), FC2]),
    "plain-no-patch-b0": ("performance", False, -1.0, [PATCH, _blocks(0)]),
    "tr-mixed-patch-only": ("mixed", True, -1.0, [_only_block(-1)]),
    "tr-mixed-no-patch": ("mixed", True, -1.0, [PATCH]),
    **{f"tr-mixed-block{b}-only": ("mixed", True, -1.0, [_only_block(b)]) for b in range(12)},
}


def sample_photos() -> list[Image.Image]:
    from sklearn.datasets import load_sample_images

    photos = [im for _, im in real_photos()]
    photos += [Image.fromarray(a).convert("RGB") for a in load_sample_images().images]
    return photos


def quantize(fp32_xml: Path, calib: np.ndarray, config: str, subset: int):
    import nncf
    import openvino as ov
    from nncf.quantization.advanced_parameters import (
        AdvancedQuantizationParameters,
        AdvancedSmoothQuantParameters,
    )
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    preset, transformer, alpha, ignored = CONFIGS[config.removesuffix("-minmax")]
    advanced = None
    if alpha is not None or config.endswith("-minmax"):  # -minmax: full observed ranges
        advanced = AdvancedQuantizationParameters(
            smooth_quant_alphas=AdvancedSmoothQuantParameters(
                matmul=0.95 if alpha is None else alpha
            ),
            activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX
            if config.endswith("-minmax")
            else None,
        )
    return nncf.quantize(
        ov.Core().read_model(fp32_xml),
        nncf.Dataset([calib[i : i + 1] for i in range(len(calib))]),
        preset=nncf.QuantizationPreset(preset),
        model_type=nncf.ModelType.TRANSFORMER if transformer else None,
        subset_size=subset,
        ignored_scope=nncf.IgnoredScope(patterns=ignored, validate=False) if ignored else None,
        advanced_parameters=advanced,
    )


def run(configs: list[str], subset: int, reps: int, timing: bool, calib_from: str) -> dict:
    import nncf
    import openvino as ov

    from vitrieve.indexer.embedder import calibration_pixels
    from vitrieve.indexer.preprocess import PreprocessSpec
    from vitrieve.indexer.runtimes.forwards import TorchForward, load_torch_vit, unit_rows

    nncf.set_log_level(logging.ERROR)
    work = Path(os.environ.get("INT8_WORK", "/tmp/vitrieve-int8-static"))
    model_dir = work / "vit-b16"
    if not (model_dir / "model.safetensors").is_file():
        make_vit_b16(model_dir)
    spec = PreprocessSpec.from_model_dir(model_dir)
    fp32_xml = work / "ir-fp32" / "model.xml"
    if not fp32_xml.is_file():
        fp32_xml.parent.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "vitrieve.indexer.runtimes.convert", str(model_dir)]
        subprocess.run([*argv, str(fp32_xml.parent), "224", "224"], check=True)
    photos = np.stack([spec.resize(im) for im in sample_photos()])
    batch8 = np.stack([photos[i % len(photos)] for i in range(8)])
    reference = TorchForward(load_torch_vit(model_dir), torch.float32, spec)
    truth = np.concatenate([reference(photos[i : i + 8]) for i in range(0, len(photos), 8)])
    gate_px = calibration_pixels(spec, 32)  # what the runtime calibration's floor is checked on
    gate_truth = np.concatenate([reference(gate_px[i : i + 8]) for i in range(0, 32, 8)])

    def norm(px: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            t = torch.from_numpy(np.ascontiguousarray(px))
            return spec.normalize(t, torch.float32).numpy()

    if calib_from == "runtime":  # what the runtime calibration times and gates on
        calib = norm(calibration_pixels(spec, 32))
    else:  # other photo-like images: benchmarks.embed's synthetic scenes (not the test photos)
        calib = norm(np.stack([spec.resize(im) for _, im in synthetic_photos(32, seed=7)]))
    core = ov.Core()
    hint = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": torch.get_num_threads()}
    hint |= {"NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    rows: dict[str, dict] = {}
    for config in ["fp32-ir", *configs]:
        started = time.perf_counter()
        model = core.read_model(fp32_xml) if config == "fp32-ir" else None
        if model is None:
            model = quantize(fp32_xml, calib, config, subset)
        row: dict = {"quantize_s": round(time.perf_counter() - started, 1)}
        compiled = core.compile_model(model, "CPU", hint)

        def forward(px: np.ndarray, compiled=compiled) -> np.ndarray:
            return unit_rows(compiled(norm(px))[0])

        got = np.concatenate([forward(photos[i : i + 8]) for i in range(0, len(photos), 8)])
        cos = np.sum(got * truth, axis=1)
        row |= {"min_cos": round(float(cos.min()), 6), "mean_cos": round(float(cos.mean()), 6)}
        gate = np.concatenate([forward(gate_px[i : i + 8]) for i in range(0, 32, 8)])
        row["gate_min_cos"] = round(float(np.sum(gate * gate_truth, axis=1).min()), 6)
        if timing:
            forward(batch8)
            reference(batch8)
            ours, base = [], []
            for _ in range(reps):
                t0 = time.perf_counter()
                forward(batch8)
                ours.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                reference(batch8)
                base.append(time.perf_counter() - t0)
            row["bs8_ratio"] = round(statistics.median(base) / statistics.median(ours), 2)
        log(f"{config}: {row}  load {os.getloadavg()[0]:.1f}")
        rows[config] = row
    return {
        "benchmark": "int8_static",
        "rows": rows,
        "photos": len(photos),
        "calibration_images": min(subset, len(calib)),
        "calibration_from": calib_from,
        "threads": torch.get_num_threads(),
        "isa_cap": {k: os.environ[k] for k in ISA_CAPS if k in os.environ},
        "openvino": ov.__version__,
        "nncf": nncf.__version__,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        **machine(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="plain,transformer,transformer-mixed")
    ap.add_argument("--subset", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--calib", choices=("runtime", "scenes"), default="runtime")
    args = ap.parse_args()
    configs = [c for c in args.configs.split(",") if c]
    emit(run(configs, args.subset, args.reps, not args.no_timing, args.calib))


if __name__ == "__main__":
    main()

"""Shared helpers for the benchmarks: a full-size random ViT-B/16, machine facts, output."""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

SEED = 20261127


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def emit(result: dict) -> None:
    """The benchmark's result: one JSON object, the last line of stdout."""
    print(json.dumps(result, sort_keys=True), flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The CPU features that decide fp32/bf16 speed on x86."""
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return [f for f in wanted if f in have]
    except OSError:
        pass
    return []


def make_vit_b16(out: Path) -> Path:
    """A randomly initialised full-size ViT-B/16 (ViTConfig defaults) with ViT's preprocessing.

    Same shapes and FLOPs as google/vit-base-patch16-224-in21k, so the same cost; no download.
    """
    import torch
    from transformers import ViTConfig, ViTImageProcessorPil, ViTModel

    torch.manual_seed(SEED)
    model = ViTModel(ViTConfig(), add_pooling_layer=True).eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    ViTImageProcessorPil(
        size={"height": 224, "width": 224},
        resample=2,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    ).save_pretrained(out)
    return out


def machine() -> dict:
    import torch

    return {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }

"""Shared helpers for the benchmarks: a full-size random ViT-B/16, machine facts, output."""

from __future__ import annotations

import json
import platform
import resource
import sys
import time
from pathlib import Path

SEED = 20261127


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def emit(result: dict) -> None:
    """The benchmark's result: one JSON object, the last line of stdout."""
    print(json.dumps(result, sort_keys=True), flush=True)


def proc_line(path: str, prefix: str) -> str | None:
    """The first line of a /proc file that starts with prefix (None without procfs or a match)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line
    except OSError:
        pass
    return None


def cpu_model() -> str:
    line = proc_line("/proc/cpuinfo", "model name")
    if line is not None:
        return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The CPU features that decide fp32/bf16 speed on x86."""
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")
    line = proc_line("/proc/cpuinfo", "flags")
    if line is None:
        return []
    have = set(line.split(":", 1)[1].split())
    return [f for f in wanted if f in have]


def vm_kib(field: str) -> float | None:
    """A field of /proc/self/status (VmRSS, VmHWM, ...) in KiB; None where there is no procfs."""
    line = proc_line("/proc/self/status", field + ":")
    return None if line is None else float(line.split()[1])


def cpu_s() -> float:
    """CPU seconds this process has used, user and system, all threads."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def reset_peak_rss() -> bool:
    """Linux >= 4.0: writing 5 to clear_refs resets this process's VmHWM (peak RSS) to its
    current RSS, so a peak read after it is the following stage's own. False where it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def make_vit_b16(out: Path) -> Path:
    """A randomly initialised full-size ViT-B/16 (ViTConfig defaults) with ViT's preprocessing.

    Same shapes and FLOPs as google/vit-base-patch16-224-in21k, so the same cost; no download.
    """
    from transformers import ViTConfig

    return save_random_vit(ViTConfig(), out)


def save_random_vit(config, out: Path) -> Path:
    """Writes a seeded random ViTModel of this config to out, in the layout the embedder loads
    (config.json, model.safetensors, preprocessor_config.json).

    The preprocessing is google/vit-base-patch16-224-in21k's: 224, bilinear, 1/255, 0.5/0.5.
    """
    import torch
    from transformers import ViTImageProcessorPil, ViTModel

    torch.manual_seed(SEED)
    model = ViTModel(config, add_pooling_layer=True).eval()
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

"""One forward function per runtime: uint8 pixels in, unit-length pooler vectors out.

Every runtime takes the same pixels and normalises them the same way (ViT's own preprocessing,
`PreprocessSpec.normalize`), so the only difference between two runtimes' vectors is the
arithmetic: which is what the fidelity floor measures.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vitrieve.indexer.preprocess import PreprocessSpec
from vitrieve.indexer.runtimes.candidates import Forward, Runtime

TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class TorchForward:
    """The ViT in torch on the CPU at one dtype (a bf16 copy is made from the fp32 model)."""

    def __init__(self, model: torch.nn.Module, dtype: torch.dtype, spec: PreprocessSpec) -> None:
        self.model = model if dtype == torch.float32 else copy.deepcopy(model).to(dtype)
        self.dtype = dtype
        self.spec = spec

    @torch.inference_mode()
    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        x = self.spec.normalize(torch.from_numpy(np.ascontiguousarray(pixels)), self.dtype)
        pooled = self.model(pixel_values=x).pooler_output.float()
        return torch.nn.functional.normalize(pooled, dim=1).numpy()


class OpenVinoForward:
    """An OpenVINO IR compiled for the CPU: one stream, the process's thread count, and the
    inference precision hint (bf16 where the CPU computes it natively, else f32)."""

    def __init__(self, xml: Path, compute: str, threads: int, spec: PreprocessSpec) -> None:
        import openvino as ov

        core = ov.Core()
        config: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": "bf16" if compute == "bf16" else "f32",
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
        }
        self.compiled = core.compile_model(core.read_model(xml), "CPU", config)
        self.spec = spec

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = self.spec.normalize(torch.from_numpy(np.ascontiguousarray(pixels)), torch.float32)
        return unit_rows(self.compiled(x.numpy())[0])


def torch_forward(runtime: Runtime, model: torch.nn.Module, spec: PreprocessSpec) -> Forward:
    return TorchForward(model, TORCH_DTYPES[runtime.compute], spec)

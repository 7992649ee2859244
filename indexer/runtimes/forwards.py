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
from vitrieve.indexer.runtimes.memory import page_out

TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def load_torch_vit(model_dir: Path) -> torch.nn.Module:
    """The fp32 ViTModel with its pooler, SDPA attention, in eval mode: the one way the model is
    loaded, so a copy reloaded after the calibration dropped it computes the same vectors."""
    from transformers import ViTModel

    model = ViTModel.from_pretrained(model_dir, attn_implementation="sdpa", add_pooling_layer=True)
    if model.pooler is None:
        raise ValueError(f"{model_dir}: model has no pooler layer")
    return model.eval()


def cast_copy(model: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """A copy of `model` at `dtype`: each floating tensor cast straight into the copy (the same
    rounding as `.to(dtype)`), so memory grows by the cast copy only, not a full copy more."""
    memo: dict[int, Any] = {}
    for tensor in [*model.parameters(), *model.buffers()]:
        if tensor.is_floating_point():
            cast = tensor.detach().to(dtype)
            is_param = isinstance(tensor, torch.nn.Parameter)
            memo[id(tensor)] = torch.nn.Parameter(cast, requires_grad=False) if is_param else cast
    return copy.deepcopy(model, memo).to(dtype)


class TorchForward:
    """The ViT in torch on the CPU at one dtype. A bf16 copy is made from the fp32 model tensor
    by tensor (`cast_copy`), never through a whole fp32 copy first."""

    def __init__(self, model: torch.nn.Module, dtype: torch.dtype, spec: PreprocessSpec) -> None:
        self.model = model if dtype == torch.float32 else cast_copy(model, dtype)
        self.dtype = dtype
        self.spec = spec

    @torch.inference_mode()
    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        x = self.spec.normalize(torch.from_numpy(np.ascontiguousarray(pixels)), self.dtype)
        pooled = self.model(pixel_values=x).pooler_output.float()
        return torch.nn.functional.normalize(pooled, dim=1).numpy()


class OpenVinoForward:
    """An OpenVINO IR compiled for the CPU: one stream, the process's thread count, and the
    inference precision hint (bf16 where the CPU computes it natively, else f32).

    The plugin repacks the weights into its own buffers when compiling and on the first call,
    after which model.bin's mapped pages are a second, idle copy: they are paged out after both
    (`memory.page_out`), about 330 MB for the fp32 IR. The first call is made here on one blank
    image, so the repacking never coincides with a large batch's activations; later batch
    sizes do not touch model.bin again."""

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
        page_out(xml.with_suffix(".bin"))
        self(np.zeros((1, spec.height, spec.width, 3), dtype=np.uint8))
        page_out(xml.with_suffix(".bin"))

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = self.spec.normalize(torch.from_numpy(np.ascontiguousarray(pixels)), torch.float32)
        return unit_rows(self.compiled(x.numpy())[0])


def torch_forward(runtime: Runtime, model: torch.nn.Module, spec: PreprocessSpec) -> Forward:
    return TorchForward(model, TORCH_DTYPES[runtime.compute], spec)

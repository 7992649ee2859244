"""ViT-B/16 pooler embeddings: tanh(dense([CLS])), L2-normalised, 768-d for the real model.

The pooler output is what the in21k checkpoint was trained to feed a linear head, so it is the
vector we store and search. How it runs is chosen per device: bf16 + SDPA on CUDA; on a CPU the
fastest runtime (torch or OpenVINO, fp32, bf16 or int8 weights) whose vectors keep cosine >=
0.999 to torch fp32, measured once on this machine and remembered (indexer/runtimes/).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vitrieve.core.config import Settings
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.model_source import ModelLocation, locate_model, read_model_info
from vitrieve.indexer.preprocess import PreprocessSpec
from vitrieve.indexer.runtimes.candidates import Forward, Runtime
from vitrieve.indexer.runtimes.choice import MIN_COSINE, Decision

log = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
__all__ = ["MIN_COSINE", "Embedder", "pick_device"]
DEFAULT_BATCH = {"cpu": 16, "cuda": 256}


def pick_device(requested: str) -> torch.device:
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise VitrieveError("VITRIEVE_DEVICE=cuda but no CUDA device is available")
        return torch.device("cuda")
    return torch.device("cpu")


def calibration_pixels(spec: PreprocessSpec, n: int = 8) -> np.ndarray:
    """Smooth gradients plus noise: photo-like statistics without shipping photos."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0 : spec.height, 0 : spec.width].astype(np.float32)
    out = np.empty((n, spec.height, spec.width, 3), dtype=np.uint8)
    for i in range(n):
        base = np.stack(
            [np.sin(xx / (9 + i * 3) + c) * np.cos(yy / (13 + i)) for c in range(3)], -1
        )
        img = 128 + 90 * base + rng.normal(0, 12, base.shape)
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


class Embedder:
    def __init__(
        self,
        location: ModelLocation,
        *,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 0,
        cache_dir: Path | None = None,
        runtime: str = "auto",
    ) -> None:
        from transformers.utils import logging as hf_logging

        from vitrieve.indexer.runtimes.forwards import load_torch_vit

        hf_logging.disable_progress_bar()
        self.location = location
        self.device = pick_device(device)
        self.spec = PreprocessSpec.from_model_dir(location.path)
        self._model: torch.nn.Module | None = load_torch_vit(location.path).to(self.device)
        self.info = read_model_info(location)
        self.decision: Decision | None = None  # the CPU calibration behind the choice, if any
        self._cpu_forward: Forward | None = None  # None: torch on self._model at self.dtype
        if self.device.type == "cuda":
            self._on_cuda(runtime, precision, batch_size)
        else:
            self._on_cpu(runtime, precision, batch_size, cache_dir)

    def _on_cuda(self, runtime: str, precision: str, batch_size: int) -> None:
        if runtime == "openvino" or precision.startswith("int8-"):
            raise VitrieveError(
                "OpenVINO and int8 weights run on the CPU: set VITRIEVE_DEVICE=cpu, or leave "
                "VITRIEVE_RUNTIME and VITRIEVE_PRECISION at auto on a GPU"
            )
        if precision == "auto":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        self.runtime = Runtime("torch", precision)  # type: ignore[arg-type]
        self.batch_size = batch_size or DEFAULT_BATCH["cuda"]
        self.dtype = DTYPES[precision]
        if self.dtype != torch.float32:
            self._model = self._model.to(self.dtype)  # type: ignore[union-attr]

    def _on_cpu(
        self, runtime: str, precision: str, batch_size: int, cache_dir: Path | None
    ) -> None:
        from vitrieve.indexer.runtimes.select import Request, select

        request = Request(
            model=self._model,
            model_dir=self.location.path,
            spec=self.spec,
            weights_hash=self.info.weights_hash,
            engine=runtime,
            precision=precision,
            batch_size=batch_size,
            cache_dir=cache_dir,
            calibration_pixels=lambda n: calibration_pixels(self.spec, n),
        )
        self._model = None  # the request owns it now: an OpenVINO candidate may drop it
        chosen = select(request)
        self.runtime, self.batch_size, self.decision = (
            chosen.runtime,
            chosen.batch_size,
            chosen.decision,
        )
        self.dtype = DTYPES[self.runtime.compute]
        if self.runtime.engine == "torch":
            self._model = chosen.forward.model  # type: ignore[attr-defined]
        else:
            self._cpu_forward = chosen.forward
            self._model = None  # OpenVINO holds its own copy: drop torch's

    @property
    def precision(self) -> str:
        return self.runtime.precision

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        return cls(
            locate_model(settings.model, cache_dir=settings.hub_cache),
            device=settings.device,
            precision=settings.precision,
            batch_size=settings.batch_size,
            cache_dir=settings.cache_dir,
            runtime=settings.runtime,
        )

    @torch.inference_mode()
    def _forward(
        self, model: torch.nn.Module, pixels: np.ndarray, dtype: torch.dtype
    ) -> np.ndarray:
        tensor = torch.from_numpy(np.ascontiguousarray(pixels))
        if self.device.type == "cuda":
            tensor = tensor.pin_memory().to(self.device, non_blocking=True)
        x = self.spec.normalize(tensor, dtype)
        pooled = model(pixel_values=x).pooler_output.float()
        pooled = torch.nn.functional.normalize(pooled, dim=1)
        return pooled.cpu().numpy()

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 [N, H, W, 3] at the model's input size -> float32 [N, dim], unit length."""
        if pixels.ndim != 4 or pixels.shape[1:] != (self.spec.height, self.spec.width, 3):
            raise ValueError(f"expected [N, {self.spec.height}, {self.spec.width}, 3] uint8 pixels")
        out = np.empty((len(pixels), self.info.dim), dtype=np.float32)
        if self._cpu_forward is not None:
            for start in range(0, len(pixels), self.batch_size):
                chunk = pixels[start : start + self.batch_size]
                out[start : start + len(chunk)] = self._cpu_forward(chunk)
            return out
        from vitrieve.indexer.gpu_transforms import split_on_oom  # out of GPU memory: halve, retry

        model = self._model
        assert model is not None  # torch runs unless OpenVINO was chosen

        for start in range(0, len(pixels), self.batch_size):
            chunk = pixels[start : start + self.batch_size]
            out[start : start + len(chunk)] = split_on_oom(
                lambda part: self._forward(model, part, self.dtype), chunk
            )
        return out

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.empty((0, self.info.dim), dtype=np.float32)
        return self.embed_pixels(np.stack([self.spec.resize(im) for im in images]))

"""ViT-B/16 pooler embeddings: tanh(dense([CLS])), L2-normalised, 768-d for the real model.

The pooler output is what the in21k checkpoint was trained to feed a linear head, so it is the
vector we store and search. Precision is chosen per device: bf16 + SDPA on CUDA; on a CPU the
faster of fp32/bf16 that keeps cosine >= 0.999 to fp32, measured once and cached.
"""

from __future__ import annotations

import copy
import json
import logging
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vitrieve.core.config import Settings
from vitrieve.indexer.model_source import ModelLocation, locate_model, read_model_info
from vitrieve.indexer.preprocess import PreprocessSpec

log = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
MIN_COSINE = 0.999  # the least agreement with fp32 a reduced precision must keep
DEFAULT_BATCH = {"cpu": 16, "cuda": 256}


def pick_device(requested: str) -> torch.device:
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            from vitrieve.core.errors import VitrieveError

            raise VitrieveError("VITRIEVE_DEVICE=cuda but no CUDA device is available")
        return torch.device("cuda")
    return torch.device("cpu")


def _calibration_pixels(spec: PreprocessSpec, n: int = 8) -> np.ndarray:
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
    ) -> None:
        from transformers import ViTModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.location = location
        self.device = pick_device(device)
        self.spec = PreprocessSpec.from_model_dir(location.path)
        model = ViTModel.from_pretrained(
            location.path, attn_implementation="sdpa", add_pooling_layer=True
        )
        if model.pooler is None:
            raise ValueError(f"{location.path}: model has no pooler layer")
        self._model = model.eval().to(self.device)
        self.info = read_model_info(location)
        self.batch_size = batch_size or DEFAULT_BATCH[self.device.type]
        self.precision = self._choose_precision(precision, cache_dir)
        self.dtype = DTYPES[self.precision]
        if self.dtype != torch.float32:
            self._model = self._model.to(self.dtype)

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        return cls(
            locate_model(settings.model, cache_dir=settings.hub_cache),
            device=settings.device,
            precision=settings.precision,
            batch_size=settings.batch_size,
            cache_dir=settings.cache_dir,
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
        from vitrieve.indexer.gpu_transforms import split_on_oom  # out of GPU memory: halve, retry

        for start in range(0, len(pixels), self.batch_size):
            chunk = pixels[start : start + self.batch_size]
            out[start : start + len(chunk)] = split_on_oom(
                lambda part: self._forward(self._model, part, self.dtype), chunk
            )
        return out

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.empty((0, self.info.dim), dtype=np.float32)
        return self.embed_pixels(np.stack([self.spec.resize(im) for im in images]))

    # -- precision -------------------------------------------------------------------------

    def _choose_precision(self, requested: str, cache_dir: Path | None) -> str:
        if requested != "auto":
            return requested
        if self.device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        key = "|".join(
            [
                self.info.weights_hash,
                torch.__version__,
                platform.processor() or platform.machine(),
                _cpu_model(),
                str(torch.get_num_threads()),
                str(self.batch_size),
            ]
        )
        cache = (cache_dir / "precision.json") if cache_dir else None
        known = _read_json(cache)
        if key in known:
            return known[key]["precision"]
        choice, report = self._calibrate_cpu()
        log.info("CPU precision calibration: %s", report)
        if cache is not None:
            known[key] = {"precision": choice, **report}
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_text(json.dumps(known, indent=1))
            tmp.replace(cache)
        return choice

    def _calibrate_cpu(self) -> tuple[str, dict]:
        """Times fp32 and bf16 on the same batch; bf16 wins only if faster AND faithful."""
        pixels = _calibration_pixels(self.spec, n=min(8, self.batch_size))
        ref, t32 = _timed(lambda: self._forward(self._model, pixels, torch.float32))
        try:
            bf16_model = copy.deepcopy(self._model).to(torch.bfloat16)
            low, t16 = _timed(lambda: self._forward(bf16_model, pixels, torch.bfloat16))
        except RuntimeError as exc:  # a CPU/build without bf16 kernels
            return "fp32", {"bf16_error": str(exc)}
        min_cos = float(np.min(np.sum(ref * low, axis=1)))
        ok = min_cos >= MIN_COSINE and t16 < t32
        return ("bf16" if ok else "fp32"), {"fp32_s": t32, "bf16_s": t16, "min_cos": min_cos}


def _timed(fn) -> tuple[np.ndarray, float]:
    fn()  # warm-up: first calls pay for kernel selection and allocation
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return result, best


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _read_json(path: Path | None) -> dict:
    if path is None or not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}

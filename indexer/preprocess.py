"""The model's own preprocessing, split in two so each half runs where it is cheapest.

`ViTImageProcessor` resizes with PIL (bilinear, no reducing gap) on uint8, then rescales and
normalises in float32. We do the resize in the decode threads (PIL releases the GIL) and keep
uint8 until the batch is assembled, then rescale+normalise the whole batch as one tensor op:
4x less memory in flight and the same numbers as the reference processor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:  # torch loads with the model, not with ingest's modules (a no-op ingest)
    import torch


@dataclass(frozen=True, slots=True)
class PreprocessSpec:
    height: int = 224
    width: int = 224
    resample: int = Image.Resampling.BILINEAR
    rescale_factor: float = 1 / 255
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    @classmethod
    def from_model_dir(cls, path: Path) -> PreprocessSpec:
        """Reads `preprocessor_config.json`; ViT's defaults where the file is silent."""
        cfg_file = path / "preprocessor_config.json"
        cfg = json.loads(cfg_file.read_text()) if cfg_file.is_file() else {}
        size = cfg.get("size", {"height": 224, "width": 224})
        if isinstance(size, int):
            size = {"height": size, "width": size}
        if "height" not in size:
            raise ValueError(f"{cfg_file}: only fixed height/width sizes are supported, got {size}")
        return cls(
            height=int(size["height"]),
            width=int(size["width"]),
            resample=int(cfg.get("resample", Image.Resampling.BILINEAR)),
            rescale_factor=float(cfg.get("rescale_factor", 1 / 255))
            if cfg.get("do_rescale", True)
            else 1.0,
            mean=tuple(cfg.get("image_mean", (0.5, 0.5, 0.5)))
            if cfg.get("do_normalize", True)
            else (0.0, 0.0, 0.0),
            std=tuple(cfg.get("image_std", (0.5, 0.5, 0.5)))
            if cfg.get("do_normalize", True)
            else (1.0, 1.0, 1.0),
        )

    @property
    def target_size(self) -> int:
        return max(self.height, self.width)

    def resize(self, image: Image.Image) -> np.ndarray:
        """RGB PIL image -> uint8 array [H, W, 3] at the model's input size."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        if image.size != (self.width, self.height):
            image = image.resize((self.width, self.height), resample=self.resample)
        return np.asarray(image, dtype=np.uint8)

    def normalize(self, pixels: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """uint8 [N, H, W, 3] (any device) -> normalised [N, 3, H, W] in `dtype`."""
        import torch

        x = pixels.permute(0, 3, 1, 2).to(torch.float32) * self.rescale_factor
        mean = torch.tensor(self.mean, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
        return ((x - mean) / std).to(dtype).contiguous()

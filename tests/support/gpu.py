"""A stand-in for nvJPEG, so the GPU front end's specifications run on CPU tensors."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import torch
from PIL import Image

from vitrieve.indexer.preprocess import PreprocessSpec

PREPROCESS_SPEC = PreprocessSpec()


def pil_decoder(files: list[torch.Tensor]) -> list[torch.Tensor]:
    """nvJPEG's stand-in: full decode to RGB [3, H, W], EXIF orientation NOT applied."""
    out = []
    for f in files:
        im = Image.open(BytesIO(f.numpy().tobytes())).convert("RGB")
        out.append(torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).contiguous())
    return out

"""Pictures the tests work on: the tiny ViT shipped in tests/fixtures, scikit-image's real
photographs, seeded synthetic images, and a second model whose vectors must never mix."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

FIXTURES = Path(__file__).parents[1] / "fixtures"
TINY_VIT = FIXTURES / "tiny-vit"
PHOTO_NAMES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "camera")


def real_photo(name: str) -> Image.Image:
    """A real photograph shipped with scikit-image, as an RGB PIL image."""
    import skimage.data

    arr = getattr(skimage.data, name)()
    img = Image.fromarray(arr)
    return img.convert("RGB")


def write_photos(root: Path) -> Path:
    """The `photos` tree under root: half the real photos as JPEG, half as PNG in trip/."""
    (root / "trip").mkdir(parents=True)
    for i, name in enumerate(PHOTO_NAMES):
        img = real_photo(name)
        if i % 2:
            img.save(root / "trip" / f"{name}.png")
        else:
            img.save(root / f"{name}.jpg", quality=92)
    return root


def noise_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A synthetic but distinctive image: smooth colour field plus shapes, seeded."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [
            np.sin(xx / rng.uniform(5, 40) + rng.uniform(0, 6)) * np.cos(yy / rng.uniform(5, 40))
            for _ in range(3)
        ],
        -1,
    )
    arr = np.clip(128 + 100 * base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def other_vit(out: Path) -> Path:
    """The tiny ViT with its patch weights negated: another model, same layout and preprocessing,
    so vectors of the two must never be mixed."""
    import torch
    from transformers import ViTModel

    model = ViTModel.from_pretrained(TINY_VIT)
    with torch.no_grad():
        model.embeddings.patch_embeddings.projection.weight.mul_(-1)
    model.save_pretrained(out)
    shutil.copy(TINY_VIT / "preprocessor_config.json", out)
    return out

"""Test material for the threshold calibration: stand-in models and a copy-detection set.

Stand-ins (each written from the committed tiny ViT, same layout and preprocessing):

- ``tiny``: the tiny ViT itself (unrelated photos already reach ~0.95 on it);
- ``squashed``: its pooler output dominated by one constant direction (a large bias on
  ``pooler.dense``, weights scaled down so tanh stays unsaturated): nearly every unrelated pair
  is above 0.90 (a fixed 0.90 has pair precision 0.06), as users of CLIP-like models report.
  Squashing harder (every pair above 0.95) puts copies and neighbours within the float16
  rounding of the stored vectors (~1e-4), where no threshold can separate them;
- ``spread``: the pooler's weights amplified and its mean [CLS] input removed, so only what
  differs between photos is left: 13% of near-duplicate pairs fall below 0.90.

The photo set is `benchmarks/make_dup_set.py`'s recipe at test size: seven colour photos from
scikit-image, each cut into three non-overlapping tiles (different photos of one subject: the
hardest unrelated neighbours), each tile saved with nine edited copies from make_dup_set's
VARIANTS: 21 groups of 10, 210 images. Brightness and contrast copies are left out: the random
tiny ViT maps a x1.3 brightness copy as far as -0.7 from its original, so no threshold could
call it a duplicate (the calibration still measures its own brightness edit, and reports it).
"""

from __future__ import annotations

import shutil
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.make_dup_set import VARIANTS
from tests.support.photos import TINY_VIT
from tests.support.thumbnail_vit import build_thumbnail_vit

TILED = ("astronaut", "camera", "chelsea", "coffee", "rocket", "immunohistochemistry", "colorwheel")
COPIES = ("jpeg_q70", "jpeg_q30", "resize_50", "resize_25", "crop_10", "png", "webp", "text")
COPIES += ("rotate_5",)
TILE = 224


def stand_in(kind: str, out: Path) -> Path:
    """A stand-in model at ``out``: the random tiny ViT (``tiny``), the thumbnail ViT
    (``thumb``, tests/support/thumbnail_vit.py), or one of their variants, ``squashed`` /
    ``spread`` (random family) and ``thumb-squashed`` / ``thumb-spread``."""
    if kind == "tiny":
        return TINY_VIT
    if kind == "thumb":
        return build_thumbnail_vit(out)
    import torch
    from transformers import ViTModel

    family, _, variant = kind.rpartition("-")
    base = build_thumbnail_vit(out.with_name(out.name + "-base")) if family else TINY_VIT
    model = ViTModel.from_pretrained(base).eval()
    dense = model.pooler.dense
    signs = torch.from_numpy(np.random.default_rng(0).choice([-1.0, 1.0], dense.out_features))
    with torch.no_grad():
        if variant == "squashed":  # tanh(c*s + a*W h): the constant c*s dominates every vector
            gain, bias = THUMB_SQUASH if family else (SQUASH_GAIN, SQUASH_BIAS)
            dense.weight.mul_(gain)
            dense.bias.copy_(bias * signs.float())
        elif variant == "spread" and family:  # tanh saturates: cosines follow the arcsine law
            dense.weight.mul_(THUMB_SPREAD_GAIN)
        elif variant == "spread":  # tanh(g*W (h - mean h)): only what differs between photos
            mean = _mean_cls(model)
            dense.weight.mul_(SPREAD_GAIN)
            dense.bias.copy_(-dense.weight @ mean)
        else:
            raise ValueError(kind)
    model.save_pretrained(out)
    shutil.copy(TINY_VIT / "preprocessor_config.json", out)
    return out


SQUASH_GAIN, SQUASH_BIAS = 0.8, 1.6
SPREAD_GAIN = 8.0
THUMB_SQUASH = (0.1, 0.5)  # every unrelated pair of the set >= 0.98
THUMB_SPREAD_GAIN = 16.0  # a fifth of near-duplicate pairs < 0.90


def _mean_cls(model):
    """The mean [CLS] state (what the pooler sees) over the set's photos, whole."""
    import torch

    tiles = [_photo(name).resize((224, 224)) for name in TILED]
    x = torch.from_numpy(np.stack([np.asarray(t, np.float32) for t in tiles]))
    x = (x.permute(0, 3, 1, 2) / 255 - 0.5) / 0.5
    with torch.no_grad():
        return model(pixel_values=x).last_hidden_state[:, 0].mean(0)


def _photo(name: str) -> Image.Image:
    import skimage.data

    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


def _tiles(name: str) -> list[Image.Image]:
    img = _photo(name)
    w, h = img.size
    tw, th = w // 2, h // 2
    boxes = [(0, 0, tw, th), (tw, 0, w, th), (0, th, tw, h)]
    return [img.crop(b).resize((TILE, TILE * (b[3] - b[1]) // (b[2] - b[0]))) for b in boxes]


def originals() -> list[tuple[str, Image.Image]]:
    """(group, photo): three quadrant tiles of each TILED photo."""
    return [(f"{n}-{t}", tile) for n in TILED for t, tile in enumerate(_tiles(n))]


def write_dup_set(root: Path, seed: int = 0) -> dict[str, str]:
    """Writes the set under root; returns {relative path: group}: 31 originals x (the
    original + 7 copies) = 248 images."""
    rng = np.random.default_rng(seed)
    truth: dict[str, str] = {}
    for group, photo in originals():
        folder = root / group
        folder.mkdir(parents=True)
        photo.save(folder / "original.png")
        truth[f"{group}/original.png"] = group
        for variant in COPIES:
            edit, fmt, options = VARIANTS[variant]
            rel = f"{group}/{variant}.{'jpg' if fmt == 'JPEG' else fmt.lower()}"
            edit(photo, rng).save(root / rel, format=fmt, **options)
            truth[rel] = group
    return truth


def pair_scores(
    vectors: dict[str, np.ndarray], truth: dict[str, str], threshold: float
) -> tuple[float, float]:
    """(precision, recall) of the pairs at or above ``threshold`` against the truth's groups."""
    names = sorted(vectors)
    unit = np.stack([vectors[n] / np.linalg.norm(vectors[n]) for n in names])
    sims = unit @ unit.T
    tp = fp = fn = 0
    for i, j in combinations(range(len(names)), 2):
        same = truth[names[i]] == truth[names[j]]
        hit = sims[i, j] >= threshold
        tp += same and hit
        fp += hit and not same
        fn += same and not hit
    precision = tp / (tp + fp) if tp + fp else 1.0
    return precision, tp / (tp + fn) if tp + fn else 1.0

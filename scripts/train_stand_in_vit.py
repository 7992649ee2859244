"""Writes tests/fixtures/trained-vit: a tiny ViT *trained* to see copies as the same photo.

The random tiny ViT (scripts/make_tiny_vit.py) is the suite's fixture, but as a stand-in for
the real similarity scale it is poor: it has no invariance to crops or tilts, and two tiles of
one photo look alike to it (0.99). The real google/vit-base-patch16-224-in21k is trained; this
is the smallest honest imitation of that. A ViT of the same layout and preprocessing (224,
patch 16, bilinear, 0.5/0.5) is trained briefly with a self-supervised contrastive objective
(SimCLR's InfoNCE on the pooler output): two edited views of one crop of a photo are pulled
together, the other crops of the batch (four regions of each photo among them) pushed apart.
The edits are the kinds users call duplicates: JPEG re-encode, downscale, a 5-15% crop, a small
tilt, brightness/contrast, bars (padding), a caption.

The photos are disjoint from the calibration test's set (tests/support/calibration.py TILED):
the other scikit-image photos that ship with the package and scikit-learn's two sample images.
(skimage's ``cat`` is ``chelsea``, a test photo, so it is left out.)

Deterministic: fixed seeds, CPU, two threads. A step is ~0.8 s on 2 idle cores (~5 s on a
loaded one). Measured so far (docs/DUPLICATES.md, Calibration): 300 steps, then 200 more with
``--resume``, is not yet a good stand-in, so no weights are committed.

Usage: python scripts/train_stand_in_vit.py [OUT_DIR] [--steps N] [--resume DIR --lr 5e-4]
"""

from __future__ import annotations

import argparse
import shutil
import time
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "trained-vit"
TINY = ROOT / "tests" / "fixtures" / "tiny-vit"  # its preprocessor_config.json is copied

COLOUR = ("retina", "hubble_deep_field", "logo", "stereo_motorcycle", "immunohistochemistry")
GREY = ("page", "coins", "moon", "text", "clock", "brick", "grass", "gravel", "cell")
SIDE = 224
SEED = 0


def photos() -> list[Image.Image]:
    """The training photos, RGB: none of them is (a part of) a test photo."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    out = []
    for name in COLOUR[:4] + GREY:  # immunohistochemistry is a test photo: never loaded
        data = getattr(skimage.data, name)()
        arrays = data[:2] if isinstance(data, tuple) else (data,)  # stereo: left and right
        for a in arrays:
            out.append(Image.fromarray(np.asarray(a, np.uint8)).convert("RGB"))
    out += [Image.fromarray(a).convert("RGB") for a in load_sample_images().images]
    return out


def regions(img: Image.Image, rng: np.random.Generator) -> list[Image.Image]:
    """Four non-overlapping crops, one in each quadrant (50-100% of its sides): distinct
    "photos" of one subject, the hardest negatives, as the test's tiles are."""
    w, h = img.size
    out = []
    for qx in (0, 1):
        for qy in (0, 1):
            qw, qh = w // 2, h // 2
            cw, ch = round(qw * rng.uniform(0.5, 1)), round(qh * rng.uniform(0.5, 1))
            x = qx * qw + int(rng.integers(0, qw - cw + 1))
            y = qy * qh + int(rng.integers(0, qh - ch + 1))
            region = img.crop((x, y, x + cw, y + ch))
            width = int(rng.integers(SIDE, 2 * SIDE + 1))
            out.append(
                region.resize((width, max(1, round(ch * width / cw))), Image.Resampling.BILINEAR)
            )
    return out


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return Image.open(BytesIO(buf.getvalue())).convert("RGB")


def edit(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A random chain of the edits users call duplicates (each applied with some chance)."""
    w, h = img.size
    if rng.random() < 0.5:  # crop 5-15% of each side
        cw, ch = round(w * rng.uniform(0.05, 0.15)), round(h * rng.uniform(0.05, 0.15))
        x, y = int(rng.integers(0, cw + 1)), int(rng.integers(0, ch + 1))
        img = img.crop((x, y, x + w - cw, y + h - ch))
    if rng.random() < 0.3:  # tilt 1-6 degrees, corners filled or cropped away
        img = img.rotate(float(rng.uniform(-6, 6)), resample=Image.Resampling.BICUBIC)
        if rng.random() < 0.5:
            w, h = img.size
            img = img.crop((w // 20, h // 20, w - w // 20, h - h // 20))
    if rng.random() < 0.4:  # brightness, contrast
        img = ImageEnhance.Brightness(img).enhance(float(rng.uniform(0.7, 1.35)))
        img = ImageEnhance.Contrast(img).enhance(float(rng.uniform(0.7, 1.3)))
    if rng.random() < 0.2:  # bars, as a screenshot or a 16:9 export adds them
        pad = round(max(img.size) * rng.uniform(0.03, 0.12))
        fill = (0, 0, 0) if rng.random() < 0.5 else (255, 255, 255)
        border = (0, pad, 0, pad) if img.width >= img.height else (pad, 0, pad, 0)
        img = ImageOps.expand(img, border=border, fill=fill)
    if rng.random() < 0.2:  # a caption over the lower part
        draw = ImageDraw.Draw(img)
        y = round(img.height * rng.uniform(0.7, 0.9))
        draw.text((img.width // 10, y), "holiday 2019 #tbt", fill=(255, 255, 255))
    if rng.random() < 0.4:  # downscale to 1/2 or 1/4
        s = 0.5 if rng.random() < 0.5 else 0.25
        img = img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))))
    if rng.random() < 0.6:
        img = _jpeg(img, int(rng.integers(20, 95)))
    return img


def pixels(img: Image.Image) -> np.ndarray:
    """The embedder's preprocessing: 224 x 224 bilinear, 1/255, mean 0.5, std 0.5, CHW."""
    a = np.asarray(img.resize((SIDE, SIDE), Image.Resampling.BILINEAR), np.float32) / 255
    return ((a - 0.5) / 0.5).transpose(2, 0, 1)


def batch(pool: list[Image.Image], rng: np.random.Generator, photos_per_batch: int):
    """Two views of each of 4 x photos_per_batch regions: (2N, 3, 224, 224)."""
    chosen = rng.choice(len(pool), photos_per_batch, replace=False)
    first, second = [], []
    for i in chosen:
        for region in regions(pool[i], rng):
            first.append(pixels(region if rng.random() < 0.5 else edit(region, rng)))
            second.append(pixels(edit(region, rng)))
    return np.stack(first + second)


def train(out: Path, steps: int, resume: Path | None = None, lr: float = 1e-3) -> None:
    import torch
    import torch.nn.functional as F
    from transformers import ViTConfig, ViTModel

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    rng = np.random.default_rng(SEED)
    config = ViTConfig(
        image_size=SIDE,
        patch_size=16,
        num_channels=3,
        hidden_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=128,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model = ViTModel(config, add_pooling_layer=True).train()
    if resume is not None:  # a second stage: the weights of a first run, a fresh schedule
        model = ViTModel.from_pretrained(resume).train()
        rng = np.random.default_rng([SEED, steps])
    pool = photos()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    warmup = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * min(1.0, s / steps))),
    )
    started = time.monotonic()
    for step in range(steps):
        x = torch.from_numpy(batch(pool, rng, photos_per_batch=8))
        z = F.normalize(model(pixel_values=x).pooler_output, dim=1)
        n = len(z) // 2
        logits = z @ z.T / 0.1
        logits.fill_diagonal_(float("-inf"))
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        loss = F.cross_entropy(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 20 == 0 or step == steps - 1:
            print(f"step {step:4d} loss {loss.item():.3f} ({time.monotonic() - started:.0f}s)")
    model.eval().save_pretrained(out, safe_serialization=True)
    shutil.copy(TINY / "preprocessor_config.json", out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=OUT)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--resume", type=Path, help="start from this run's weights")
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train(args.out, args.steps, args.resume, args.lr)
    total = sum(f.stat().st_size for f in args.out.iterdir())
    print(f"wrote {args.out} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()

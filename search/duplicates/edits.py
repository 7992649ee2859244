"""The edits people call duplicates, made in memory for the threshold calibration.

Each edit turns a decoded photo into the encoded bytes of a copy (a JPEG or a PNG, as a file
would hold it), so that the calibration can decode it through the same path ingest uses: what it
measures is what `vitrieve dups` will later compare. Nothing is written to disk. The random
parts (which sides a crop cuts, the rotation's sign, the brightness factor) come from the
caller's generator, so one seed gives the same edits every time.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

EditFn = Callable[[Image.Image, np.random.Generator], Image.Image]

# kind -> the family named in the one-line summary ("re-encodes and resizes", "crops", ...)
FAMILY = {
    "jpeg_q30": "re-encodes and resizes",
    "resize_50": "re-encodes and resizes",
    "resize_25": "re-encodes and resizes",
    "crop": "crops",
    "rotate": "crops",
    "letterbox": "crops",
    "tone": "colour changes",
}


def _resize(scale: float) -> EditFn:
    def edit(img: Image.Image, rng: np.random.Generator) -> Image.Image:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        return img.resize(size, Image.Resampling.LANCZOS)

    return edit


def _crop(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """5-15% of each dimension cut, split at random between the two sides."""
    w, h = img.size
    cut_w = round(w * rng.uniform(0.05, 0.15))
    cut_h = round(h * rng.uniform(0.05, 0.15))
    left, top = int(rng.integers(0, cut_w + 1)), int(rng.integers(0, cut_h + 1))
    return img.crop((left, top, left + w - cut_w, top + h - cut_h))


def _rotate(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A 2-5 degree tilt, cropped to the inner 90% so no filled corners show (a straightened
    horizon, as photo editors do it)."""
    angle = float(rng.uniform(2, 5)) * (1 if rng.random() < 0.5 else -1)
    turned = img.rotate(angle, resample=Image.Resampling.BICUBIC)
    w, h = turned.size
    return turned.crop((w // 20, h // 20, w - w // 20, h - h // 20))


def _tone(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Brightness x0.8-1.25 then contrast x0.8-1.2."""
    out = ImageEnhance.Brightness(img).enhance(float(rng.uniform(0.8, 1.25)))
    return ImageEnhance.Contrast(out).enhance(float(rng.uniform(0.8, 1.2)))


def _letterbox(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Bars above and below (or left and right) as a screenshot or a 16:9 export adds them:
    together 20% of the longer side, black or white."""
    pad = max(1, round(max(img.size) * 0.10))
    fill = (0, 0, 0) if rng.random() < 0.5 else (255, 255, 255)
    border = (0, pad, 0, pad) if img.width >= img.height else (pad, 0, pad, 0)
    return ImageOps.expand(img, border=border, fill=fill)


def _same(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img


# kind -> (edit, format, save options). The order is fixed: it decides the draws from the rng.
EDITS: dict[str, tuple[EditFn, str, dict]] = {
    "jpeg_q30": (_same, "JPEG", {"quality": 30}),
    "resize_50": (_resize(0.5), "JPEG", {"quality": 90}),
    "resize_25": (_resize(0.25), "JPEG", {"quality": 90}),
    "crop": (_crop, "JPEG", {"quality": 90}),
    "rotate": (_rotate, "JPEG", {"quality": 90}),
    "tone": (_tone, "JPEG", {"quality": 90}),
    # Level 1: the same pixels (PNG is lossless) for a third of the default level's time,
    # which made the PNG encode the slowest step of a calibration.
    "letterbox": (_letterbox, "PNG", {"compress_level": 1}),
}
KINDS = tuple(EDITS)


def edited_copies(img: Image.Image, rng: np.random.Generator) -> list[tuple[str, bytes]]:
    """(kind, encoded bytes) for every edit of ``img`` (RGB), in KINDS order."""
    out = []
    for kind, (edit, fmt, options) in EDITS.items():
        buf = BytesIO()
        edit(img, rng).save(buf, format=fmt, **options)
        out.append((kind, buf.getvalue()))
    return out

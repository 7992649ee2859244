"""Builds a copy-detection set from a folder of originals, with its ground truth.

For every original it writes the original's bytes and these copies (the edits people and
services make), all in one group:

  jpeg_q90 / q70 / q50 / q30   re-encoded at four JPEG qualities
  resize_50 / resize_25        downscaled to half and a quarter
  crop_10 / crop_20            10% / 20% cut off the edges (random sides), as JPEG
  flip                         mirrored left-right
  rotate_5 / rotate_90         tilted 5 degrees (corners filled) / turned a quarter
  bright / contrast            brightness x1.3 / contrast x0.7
  text                         a caption drawn over the lower part
  png / webp                   format change (PNG lossless, WebP quality 80)

Layout: OUT/images/<group>/<variant>.<ext> (a folder per group, which `vitrieve eval dups
--truth OUT/images` reads), and OUT/truth.csv with `path,group` rows (paths relative to OUT).
`--flat` puts every file in OUT/images as <group>__<variant>.<ext> (no folder hints).

Usage:
  python -m benchmarks.make_dup_set ORIGINALS OUT [--seed 0] [--flat]
  python -m benchmarks.make_dup_set --skimage OUT      # photos from scikit-image
Then: vitrieve ingest OUT/images && vitrieve eval dups --truth OUT/truth.csv
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `indexer` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, log

# scikit-image photos that ship with the package (no download), colour or grey
SKIMAGE_PHOTOS = (
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "coins",
    "immunohistochemistry",
    "moon",
    "rocket",
    "motorcycle_left",
    "retina",
    "page",
    "text",
)
_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic"}

Edit = Callable[[Image.Image, np.random.Generator], Image.Image]


def _crop(fraction: float) -> Edit:
    def edit(img: Image.Image, rng: np.random.Generator) -> Image.Image:
        w, h = img.size
        cut_w, cut_h = round(w * fraction), round(h * fraction)
        left, top = int(rng.integers(0, cut_w + 1)), int(rng.integers(0, cut_h + 1))
        return img.crop((left, top, left + w - cut_w, top + h - cut_h))

    return edit


def _resize(scale: float) -> Edit:
    def edit(img: Image.Image, rng: np.random.Generator) -> Image.Image:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        return img.resize(size, Image.Resampling.LANCZOS)

    return edit


def _text(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    out = img.copy()
    draw = ImageDraw.Draw(out)
    size = max(12, img.height // 12)
    font = ImageFont.load_default(size=size)
    y = int(img.height * rng.uniform(0.6, 0.8))
    draw.text((img.width // 20, y), "holiday 2024 (c) vitrieve", fill=(255, 255, 0), font=font)
    return out


def _same(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img


# name -> (edit, save format, save options)
VARIANTS: dict[str, tuple[Edit, str, dict]] = {
    "jpeg_q90": (_same, "JPEG", {"quality": 90}),
    "jpeg_q70": (_same, "JPEG", {"quality": 70}),
    "jpeg_q50": (_same, "JPEG", {"quality": 50}),
    "jpeg_q30": (_same, "JPEG", {"quality": 30}),
    "resize_50": (_resize(0.5), "JPEG", {"quality": 90}),
    "resize_25": (_resize(0.25), "JPEG", {"quality": 90}),
    "crop_10": (_crop(0.10), "JPEG", {"quality": 90}),
    "crop_20": (_crop(0.20), "JPEG", {"quality": 90}),
    "flip": (lambda img, rng: ImageOps.mirror(img), "JPEG", {"quality": 90}),
    "rotate_5": (lambda img, rng: img.rotate(5, resample=Image.Resampling.BICUBIC), "JPEG", {}),
    "rotate_90": (lambda img, rng: img.transpose(Image.Transpose.ROTATE_90), "JPEG", {}),
    "bright": (lambda img, rng: ImageEnhance.Brightness(img).enhance(1.3), "JPEG", {}),
    "contrast": (lambda img, rng: ImageEnhance.Contrast(img).enhance(0.7), "JPEG", {}),
    "text": (_text, "JPEG", {"quality": 90}),
    "png": (_same, "PNG", {}),
    "webp": (_same, "WEBP", {"quality": 80}),
}
_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}


def originals(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _EXTENSIONS)


def write_skimage_originals(folder: Path, names=SKIMAGE_PHOTOS) -> Path:
    """scikit-image's bundled photos as PNG files (grey ones too), skipping any missing."""
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            arr = getattr(skimage.data, name)()
        except Exception as exc:  # a photo this version does not ship: not needed
            log(f"skipping skimage.data.{name}: {exc}")
            continue
        Image.fromarray(arr).convert("RGB").save(folder / f"{name}.png")
    return folder


def build_set(src: Path, out: Path, *, seed: int = 0, flat: bool = False) -> list[tuple[str, str]]:
    """Writes the set; returns the truth rows (path relative to OUT, group)."""
    files = originals(src)
    if not files:
        raise SystemExit(f"{src}: no images found")
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str]] = []
    used: set[str] = set()
    for n, path in enumerate(files):
        group = _group_name(path.stem, used)
        rng = np.random.default_rng([seed, n])
        with Image.open(path) as im:
            base = ImageOps.exif_transpose(im).convert("RGB")

        def target(variant: str, suffix: str, group=group) -> Path:
            name = f"{group}__{variant}{suffix}" if flat else f"{group}/{variant}{suffix}"
            (images / name).parent.mkdir(parents=True, exist_ok=True)
            return images / name

        dst = target("original", path.suffix.lower())
        shutil.copyfile(path, dst)
        rows.append((dst.relative_to(out).as_posix(), group))
        for variant, (edit, fmt, options) in VARIANTS.items():
            dst = target(variant, _SUFFIX[fmt])
            edit(base, rng).save(dst, fmt, **options)
            rows.append((dst.relative_to(out).as_posix(), group))
        log(f"{group}: {len(VARIANTS) + 1} files")
    with open(out / "truth.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("path", "group"))
        writer.writerows(rows)
    return rows


def _group_name(stem: str, used: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-") or "image"
    candidate, k = name, 1
    while candidate in used:
        k += 1
        candidate = f"{name}-{k}"
    used.add(candidate)
    return candidate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, nargs="?", help="folder of originals")
    parser.add_argument("out", type=Path, help="output folder (images/ and truth.csv)")
    parser.add_argument("--skimage", action="store_true", help="use scikit-image's photos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flat", action="store_true", help="no folder per group")
    args = parser.parse_args(argv)
    if args.skimage:
        src = write_skimage_originals(args.out / "originals")
    elif args.src is None:
        parser.error("give a folder of originals, or --skimage")
    else:
        src = args.src
    rows = build_set(src, args.out, seed=args.seed, flat=args.flat)
    groups = len({g for _, g in rows})
    emit({"images": len(rows), "groups": groups, "truth": str(args.out / "truth.csv")})


if __name__ == "__main__":
    main()

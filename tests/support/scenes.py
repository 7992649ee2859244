"""Colour scenes the tagging tests train probes on: the tiny ViT's random features follow colour
statistics, so scenes dominated by red, green or blue are separable though all different."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw

COLOURS = ("red", "green", "blue")


def colour_scene(colour: str, seed: int, size: tuple[int, int] = (96, 72)) -> PILImage.Image:
    """A scene dominated by one colour channel, with noise and 2-5 random shapes."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.uniform(20, 90, 3)
    base[COLOURS.index(colour)] = rng.uniform(170, 250)
    arr = base + rng.normal(0, 12, (h, w, 3))
    img = PILImage.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        box = (x0, y0, x0 + int(rng.integers(8, 30)), y0 + int(rng.integers(8, 24)))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.integers(0, 2) else draw.rectangle)(box, fill=fill)
    return img


def write_scenes(folder: Path, per_colour: int, seed: int, *, by_folder: bool) -> Path:
    """folder/red/red0.png ... (by_folder) or folder/red-0.png ... (one flat folder)."""
    for c, colour in enumerate(COLOURS):
        target = folder / colour if by_folder else folder
        target.mkdir(parents=True, exist_ok=True)
        for i in range(per_colour):
            name = f"{colour}{i}.png" if by_folder else f"{colour}-{i}.png"
            colour_scene(colour, seed + 1000 * c + i).save(target / name)
    return folder

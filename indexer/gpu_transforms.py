"""Device-agnostic tensor steps of the GPU front end: EXIF orientation, antialiased resizing,
pixel hashing, and splitting a batch that runs out of GPU memory.

Kept apart from `gpu_pipeline` (threads and queues) because they are pure functions of tensors:
they run on CUDA in production and are tested on CPU tensors, with identical results.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch
import xxhash

from vitrieve.indexer.thumbnails import THUMB_SIZE

log = logging.getLogger(__name__)

# A batch is sliced in halves: a list (of tensors) or an array.
B = TypeVar("B", Sequence[Any], np.ndarray)


def split_on_oom(fn: Callable[[B], Any], batch: B) -> Any:
    """fn(batch), or on out-of-GPU-memory fn over each half (recursively), joined in order.

    A single item that still does not fit re-raises: nothing is dropped silently. Results
    join by type: numpy arrays and tensors concatenate, lists extend.
    """
    try:
        return fn(batch)
    except torch.OutOfMemoryError:
        if len(batch) <= 1:
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        mid = len(batch) // 2
        log.warning(
            "out of GPU memory on a batch of %d; retrying as %d + %d",
            len(batch),
            mid,
            len(batch) - mid,
        )
        first: Any = split_on_oom(fn, batch[:mid])
        second: Any = split_on_oom(fn, batch[mid:])
    if isinstance(first, np.ndarray):
        return np.concatenate([first, second])
    if isinstance(first, torch.Tensor):
        return torch.cat([first, second])
    return [*first, *second]


def orient(img: torch.Tensor, orientation: int) -> torch.Tensor:
    """[3, H, W] -> upright, matching Pillow's transposes for EXIF orientations 2..8."""
    if orientation == 2:
        return img.flip(2)
    if orientation == 3:
        return img.flip(1, 2)
    if orientation == 4:
        return img.flip(1)
    if orientation == 5:
        return img.transpose(1, 2)
    if orientation == 6:
        return torch.rot90(img, -1, (1, 2))
    if orientation == 7:
        return img.transpose(1, 2).flip(1, 2)
    if orientation == 8:
        return torch.rot90(img, 1, (1, 2))
    return img


def thumb_size(width: int, height: int, box: int = THUMB_SIZE) -> tuple[int, int]:
    """Pillow's `Image.thumbnail((box, box))` size: fit inside, keep aspect, never enlarge."""
    if width <= box and height <= box:
        return width, height
    aspect = width / height
    if aspect <= 1:  # Pillow: box / box >= aspect
        return _round_aspect(box * aspect, lambda n: abs(aspect - n / box)), box
    return box, _round_aspect(box / aspect, lambda n: 0 if n == 0 else abs(aspect - box / n))


def _round_aspect(number: float, key: Callable[[int], float]) -> int:
    return max(min(math.floor(number), math.ceil(number), key=key), 1)


def resize_many(
    imgs: Sequence[torch.Tensor], sizes: Sequence[tuple[int, int]]
) -> list[torch.Tensor]:
    """Each [3, H, W] uint8 to its (width, height) as [h, w, 3] uint8: bilinear, antialiased
    (like Pillow's downscale), one interpolate call per group of equal source/target size."""
    out: list[torch.Tensor | None] = [None] * len(imgs)
    groups: dict[tuple, list[int]] = {}
    for i, (img, size) in enumerate(zip(imgs, sizes, strict=True)):
        groups.setdefault((tuple(img.shape), size), []).append(i)
    for (shape, (w, h)), members in groups.items():
        if shape[1:] == (h, w):
            resized = torch.stack([imgs[i] for i in members])
        else:
            x = torch.stack([imgs[i] for i in members]).float()
            x = torch.nn.functional.interpolate(
                x, size=(h, w), mode="bilinear", antialias=True, align_corners=False
            )
            resized = x.round_().clamp_(0, 255).to(torch.uint8)
        for i, r in zip(members, resized.permute(0, 2, 3, 1), strict=True):
            out[i] = r
    return out  # type: ignore[return-value]


_MASK = (1 << 64) - 1
_WEIGHTS: dict[tuple[int, str], torch.Tensor] = {}


def _signed(value: int) -> int:
    value &= _MASK
    return value - (1 << 64) if value >= 1 << 63 else value


def _shr(x: torch.Tensor, s: int) -> torch.Tensor:
    """Logical right shift of int64 (torch shifts signed values arithmetically)."""
    return (x >> s) & ((1 << (64 - s)) - 1)


def _splitmix64(x: torch.Tensor) -> torch.Tensor:
    x = x + _signed(0x9E3779B97F4A7C15)
    x = (x ^ _shr(x, 30)) * _signed(0xBF58476D1CE4E5B9)
    x = (x ^ _shr(x, 27)) * _signed(0x94D049BB133111EB)
    return x ^ _shr(x, 31)


def _weights(n_words: int, device: torch.device) -> torch.Tensor:
    """Two odd pseudo-random int64 weights per 8-byte word, cached per size and device."""
    key = (n_words, str(device))
    w = _WEIGHTS.get(key)
    if w is None:
        pos = torch.arange(2 * n_words, dtype=torch.int64, device=device)
        w = (_splitmix64(pos) | 1).view(n_words, 2)
        if len(_WEIGHTS) > 16:
            _WEIGHTS.clear()
        _WEIGHTS[key] = w
    return w


def tensor_pixel_hashes(imgs: Sequence[torch.Tensor]) -> list[str]:
    """Hashes of upright RGB pixels ([3, H, W] uint8) computed where the pixels are.

    Two 64-bit sums of the pixel words times pseudo-random odd weights (universal hashing mod
    2**64), finished on the CPU with xxh3-128 over the size and both sums. Exact integer
    arithmetic: the same pixels give the same hash on any device. One transfer for all.
    """
    if not imgs:
        return []
    sums = []
    for img in imgs:
        flat = img.permute(1, 2, 0).contiguous().view(-1)
        pad = (-flat.numel()) % 8
        if pad:
            flat = torch.cat([flat, flat.new_zeros(pad)])
        words = flat.view(torch.int64)
        sums.append((words[:, None] * _weights(words.numel(), words.device)).sum(0))
    pairs = torch.stack(sums).cpu().numpy()
    out = []
    for img, pair in zip(imgs, pairs, strict=True):
        h = xxhash.xxh3_128(f"gpu:RGB:{img.shape[2]}x{img.shape[1]}:".encode())
        h.update(pair.tobytes())
        out.append(h.hexdigest())
    return out

"""How big an input may be, and how memory stays bounded when many big ones decode at once.

- ``max_file_size`` (Settings.max_file_size, default 2 GiB) is checked by the reader on the
  open file, before reading: a 1 TB sparse '.jpg' is refused, not loaded.
- ``max_pixels`` (Settings.max_image_pixels, default 300 MP) is a refusal: checked on the
  header, before a pixel is decoded, so a 57-byte PNG declaring 20000x20000 costs nothing.
  Real photos of 100-250 MP (medium format, 108/200 MP phones, stitched panoramas) pass;
  Pillow's own default (89.5 MP) would refuse them, so its process-wide limit is raised to
  ours (never lowered), and then only fires for images our check refuses anyway.
- ``LARGE_PIXELS`` is a budget: an image that still has more pixels than that once JPEG draft
  decoding has done its work (a big PNG or TIFF, a progressive JPEG, whose decoder buffers the
  whole image whatever the scale) is decoded while holding a process-wide gate, one at a time,
  and shrunk before it leaves the decoder. So with N decode threads, memory is bounded by
  N small decodes plus a single large one, instead of N large ones (16 threads x a 250 MP
  PNG would be ~40 GB).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image

from vitrieve.core.config import Settings

DEFAULT_MAX_PIXELS: int = Settings.model_fields["max_image_pixels"].default
"""For callers without settings (scripts, tests); the pipelines pass the configured value."""
DEFAULT_MAX_FILE_SIZE: int = Settings.model_fields["max_file_size"].default

LARGE_PIXELS = 64_000_000
"""Above every single-shot 35 mm sensor (61 MP). Baseline JPEGs of any size are drafted far below
it; only big PNG/TIFF/WebP (scans, panoramas) and big progressive JPEGs take the gate, so
ordinary libraries never wait on it."""

_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")
_large_gate = threading.Lock()
_pillow_limit_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class InputLimits:
    """What one file may be, as configured: bytes on disk (reader) and pixels (decoder)."""

    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_image_pixels: int = DEFAULT_MAX_PIXELS

    @classmethod
    def of(cls, settings: Settings) -> InputLimits:
        return cls(settings.max_file_size, settings.max_image_pixels)


class TooManyPixels(Exception):
    """An image over ``max_pixels``; ``reason`` is meant for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def admit_in_pillow(max_pixels: int) -> None:
    """Raise Pillow's process-wide limit to ours if it is lower (it refuses at 2x its
    ``MAX_IMAGE_PIXELS`` inside ``Image.open`` and warns at 1x). Never lowered, so any other
    Pillow user in the process keeps at least its protection; None (off) stays None."""
    with _pillow_limit_lock:
        current = Image.MAX_IMAGE_PIXELS
        if current is not None and current < max_pixels:
            Image.MAX_IMAGE_PIXELS = max_pixels


def check_pixels(im: Image.Image, max_pixels: int) -> None:
    """Raises TooManyPixels for an opened image whose header declares too many pixels."""
    width, height = im.size
    if width * height > max_pixels:
        raise TooManyPixels(too_many_pixels(width * height, max_pixels, f"{width}x{height}"))


def bomb_reason(message: str, max_pixels: int) -> str:
    """Pillow's DecompressionBombError worded as ours, with the limit we actually enforce."""
    match = _BOMB_PIXELS.search(message)
    if match is None:
        return "decompression bomb: " + " ".join(message.split())
    return too_many_pixels(int(match.group(1)), max_pixels)


def too_many_pixels(pixels: int, max_pixels: int, dimensions: str = "") -> str:
    """'decompression bomb or oversized image: 20000x20000 (400.0 MP) is over the 300.0 MP
    limit (VITRIEVE_MAX_IMAGE_PIXELS)': what it is, and which setting would admit it."""
    count, limit = _amount(pixels), _amount(max_pixels)
    if count == limit:  # 300.04 MP over 300.0 MP: exact counts tell them apart
        count, limit = f"{pixels:,} pixels", f"{max_pixels:,} pixels"
    size = f"{dimensions} ({count})" if dimensions else count
    return (
        f"decompression bomb or oversized image: {size} is over the {limit} limit "
        "(VITRIEVE_MAX_IMAGE_PIXELS)"
    )


def _amount(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} MP" if pixels >= 10_000_000 else f"{pixels:,} pixels"


@contextmanager
def large_decode(pixels: int) -> Iterator[None]:
    """Holds the process-wide gate while an image of more than LARGE_PIXELS is in memory."""
    if pixels <= LARGE_PIXELS:
        yield
        return
    with _large_gate:
        yield


def shrink(im: Image.Image, target_size: int) -> Image.Image:
    """A box-filtered reduction of a large RGB image that keeps at least twice ``target_size``
    on its short side, as JPEG draft decoding does; smaller images come back as they are."""
    if im.width * im.height <= LARGE_PIXELS:
        return im
    factor = min(im.width, im.height) // (2 * target_size)
    return im.reduce(factor) if factor >= 2 else im

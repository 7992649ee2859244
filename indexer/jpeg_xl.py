"""JPEG XL, through the optional extra ``vitrieve[jxl]`` (pillow-jxl-plugin).

Pillow has no JPEG XL reader of its own; importing ``pillow_jxl`` registers one (format name
'JXL'). The plugin is an extra, not a dependency, because JPEG XL is still rare in photo
libraries. Without it a '.jxl' file is still picked up by the scanner, so that each one
becomes one failure saying how to read it, instead of being skipped without a word.
"""

from __future__ import annotations

from io import BytesIO

from PIL import Image

from vitrieve.indexer.limits import TooManyPixels, large_decode, too_many_pixels

try:
    import pillow_jxl  # noqa: F401  (imported for its side effect: Pillow can open JPEG XL)
except ImportError:
    JXL_READABLE = False
else:
    JXL_READABLE = True

JXL_SIGNATURES: tuple[bytes, ...] = (
    b"\xff\x0a",  # a bare codestream
    b"\x00\x00\x00\x0cJXL \r\n\x87\n",  # the ISO BMFF container
)
"""The leading bytes of a JPEG XL file, in either of its two forms."""

NO_JXL_REASON = "JPEG XL needs the optional extra: pip install 'vitrieve[jxl]'"


class JxlRefused(Exception):
    """A JPEG XL file that is not decoded; ``reason`` is meant for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def open_jxl(data: bytes, max_pixels: int) -> Image.Image:
    """The opened (already decoded) image of a JPEG XL file.

    The plugin decodes every pixel inside ``Image.open``, so everything Pillow's other readers
    do later happens here first: the pixel limit is checked on the header (TooManyPixels), and
    a large image decodes under the process-wide gate of ``limits.large_decode``. JxlRefused
    when the extra is missing or the file is damaged (libjxl's own message says only 'Generic
    Error' and how to build libjxl, so it is not repeated).
    """
    if not JXL_READABLE:
        raise JxlRefused(NO_JXL_REASON)
    size = jxl_size(data)
    if size is None:
        raise JxlRefused(
            f"truncated or corrupt JPEG XL data ({len(data)} bytes, header unreadable)"
        )
    width, height = size
    if width * height > max_pixels:
        raise TooManyPixels(too_many_pixels(width * height, max_pixels, f"{width}x{height}"))
    with large_decode(width * height):
        try:
            return Image.open(BytesIO(data), formats=["JXL"])
        except Exception as exc:  # a Rust extension: anything it raises means it failed
            raise JxlRefused(
                f"truncated or corrupt JPEG XL data ({len(data)} bytes): libjxl cannot decode it"
            ) from exc


_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}


def jxl_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG XL file's SizeHeader, None when it cannot be found.

    Read here because the plugin decodes every pixel inside ``Image.open``: the pixel limit
    must be checked before that, on the header alone (ISO/IEC 18181-1, SizeHeader).
    """
    stream = _codestream(data)
    if stream is None or len(stream) < 3 or stream[:2] != b"\xff\x0a":
        return None
    bits = int.from_bytes(stream[2:18], "little")  # the header fits in 16 bytes; LSB first
    at = 0

    def take(count: int) -> int:
        nonlocal at
        value = (bits >> at) & ((1 << count) - 1)
        at += count
        return value

    def side() -> int:
        return take((9, 13, 18, 30)[take(2)]) + 1

    small = take(1)
    height = (take(5) + 1) * 8 if small else side()
    ratio = take(3)
    if ratio:
        num, den = _RATIOS[ratio]
        width = height * num // den
    else:
        width = (take(5) + 1) * 8 if small else side()
    if len(stream) < 2 + (at + 7) // 8:  # the bits read were past the end of the file
        return None
    return width, height


def _codestream(data: bytes) -> bytes | None:
    """The start of the codestream: the file itself, or the first jxlc/jxlp box's payload."""
    if data[:2] == b"\xff\x0a":
        return data
    at = 0
    while at + 8 <= len(data):
        size, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
        head = 8
        if size == 1:  # a 64-bit size follows the type
            size, head = int.from_bytes(data[at + 8 : at + 16], "big"), 16
        elif size == 0:  # the last box runs to the end of the file
            size = len(data) - at
        if kind == b"jxlc":
            return data[at + head : at + head + 32]
        if kind == b"jxlp":  # a part of the codestream, after its 4-byte index
            return data[at + head + 4 : at + head + 36]
        if size < head:
            return None
        at += size
    return None

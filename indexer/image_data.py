"""How many bytes of a file are the picture: its encoded image data, metadata not counted.

Why: the duplicate keeper rule compares sizes ("of two encodings of one picture, the larger kept
more detail"), and a file's size also counts its metadata. A copy padded with 25 kB of junk
EXIF, a bigger embedded thumbnail, XMP or an ICC profile says nothing about its pixels, yet won
"largest file" and sent the real originals to the quarantine. Measured from the bytes being
decoded anyway (no extra read), by walking the container's own structure:

* JPEG: the segments before the first scan except APP0..APP15 and COM (EXIF, XMP, ICC, Adobe,
  thumbnails, comments), then the scans up to the first EOI (what follows the EOI, such as an
  MPO's second picture or a phone's trailer, is not this picture);
* PNG: the signature and the IHDR, PLTE, tRNS, IDAT and IEND chunks (plus an APNG's frame
  chunks); text, eXIf, iCCP and the like are metadata;
* WebP: the RIFF chunks other than EXIF, XMP, ICCP and VP8X (the extended header a file gets
  once it carries metadata);
* anything else (TIFF, HEIF, GIF, BMP), or a structure that does not parse: the file's size
  less the EXIF, XMP and ICC blobs Pillow reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["image_data_size"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_PICTURE = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"acTL", b"fcTL", b"fdAT"})
_WEBP_METADATA = frozenset({b"EXIF", b"XMP ", b"ICCP", b"VP8X"})
_METADATA_INFO = ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp")


def image_data_size(data: bytes, fmt: str | None, info: Mapping[Any, object]) -> int:
    """Bytes of ``data`` (a whole file of format ``fmt``, as Pillow names it) that encode the
    picture; ``info`` is Pillow's ``im.info``, for the fallback."""
    parse = {"JPEG": _jpeg, "MPO": _jpeg, "PNG": _png, "WEBP": _webp}.get(fmt or "")
    size = parse(data) if parse is not None else None
    if size is None:
        blobs = (info.get(key) for key in _METADATA_INFO)
        size = len(data) - sum(len(b) for b in blobs if isinstance(b, bytes | str))
    return max(0, min(size, len(data)))


def _jpeg(data: bytes) -> int | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    pos = kept = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # a fill byte before a marker
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            kept += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            return None
        if marker == 0xDA:  # start of scan: entropy-coded data never holds FF D9 before EOI
            end = data.find(b"\xff\xd9", pos)
            return kept + (len(data) if end < 0 else end + 2) - pos
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):  # APPn and COM are metadata
            kept += 2 + length
        pos += 2 + length
    return None


def _png(data: bytes) -> int | None:
    if not data.startswith(_PNG_SIGNATURE):
        return None
    pos = kept = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind in _PNG_PICTURE:
            kept += 12 + length  # length, type, data, CRC
        pos += 12 + length
        if kind == b"IEND":
            break
    return kept if kept > len(_PNG_SIGNATURE) else None


def _webp(data: bytes) -> int | None:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    pos = kept = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        chunk = 8 + length + (length & 1)  # chunks are padded to an even size
        if kind not in _WEBP_METADATA:
            kept += chunk
        pos += chunk
    return kept if kept > 12 else None

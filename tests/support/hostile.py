"""Hostile inputs, built byte by byte so each test says exactly what it feeds the indexer:
bombs that are tiny on disk, files Pillow warns about, files libtiff complains about from C."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

import numpy as np
from PIL import Image


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(side: int = 20_000) -> bytes:
    """A complete, valid 1-bit PNG of side x side black pixels: ~50 KB that decode to 400 MP."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def gif(screen: tuple[int, int], frame: tuple[int, int]) -> bytes:
    """A GIF89a with a 2-colour palette and one frame of `frame` size at the origin. Pillow's
    test suite has such bombs (decompression_bomb.gif); the bytes are spelled out here."""
    header = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, *frame, 0)
    return header + descriptor + b"\x02\x02\x44\x01\x00" + b";"


def deflate_tiff(damage: str) -> bytes:
    """A 400x300 deflate-compressed TIFF (decoded by libtiff) with its first strip zeroed
    ('zeroed') or its strip byte counts pointing past the end of the file ('short')."""
    pixels = (np.random.default_rng(0).random((300, 400, 3)) * 255).astype(np.uint8)
    buf = BytesIO()
    Image.fromarray(pixels).save(buf, "TIFF", compression="tiff_deflate")
    data = bytearray(buf.getvalue())
    tags = Image.open(BytesIO(bytes(data))).tag_v2
    offset, count = tags[273][0], tags[279][0]
    if damage == "zeroed":
        data[offset + 10 : offset + count - 10] = bytes(count - 20)
    else:
        ifd = struct.unpack("<I", data[4:8])[0]
        for i in range(struct.unpack("<H", data[ifd : ifd + 2])[0]):
            entry = ifd + 2 + 12 * i
            tag, _, n, where = struct.unpack("<HHII", data[entry : entry + 12])
            if tag == 279:  # StripByteCounts
                data[where : where + 4 * n] = struct.pack(f"<{n}I", *[10**7] * n)
    return bytes(data)


def tiff_cut_in_its_directory() -> bytes:
    """14 bytes of a small TIFF (its directory comes first): Pillow warns 'Corrupt EXIF data'."""
    buf = BytesIO()
    Image.new("RGB", (40, 30), "red").save(buf, "TIFF")
    return buf.getvalue()[:14]


def cut_avif() -> bytes:
    """The first 300 bytes of a small AVIF: its header is whole, its image data is cut."""
    buf = BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buf, "AVIF")
    return buf.getvalue()[:300]


def invalid_apng() -> bytes:
    """A good PNG with an acTL chunk declaring 0 frames: Pillow warns and shows the PNG."""
    buf = BytesIO()
    Image.new("RGB", (32, 24), "blue").save(buf, "PNG")
    data = buf.getvalue()
    return data[:33] + png_chunk(b"acTL", struct.pack(">II", 0, 0)) + data[33:]  # after IHDR


def good_png() -> bytes:
    buf = BytesIO()
    Image.new("RGB", (50, 40), "green").save(buf, "PNG")
    return buf.getvalue()

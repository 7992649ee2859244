"""Reads a file once for both hashing and decoding, and turns OS errors into reasons."""

from __future__ import annotations

import errno
from pathlib import Path

import xxhash
from PIL import Image


class ReadError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def content_hash(data: bytes) -> str:
    """xxh3-128: fast enough to never be the bottleneck, wide enough for 100M files."""
    return xxhash.xxh3_128_hexdigest(data)


def pixel_hash(image: Image.Image) -> str:
    """Hash of decoded pixels and size: a PNG and its lossless re-save (or a copy with other
    metadata) share it. Large JPEGs hash their draft decode, which is identical for identical
    coefficient data."""
    h = xxhash.xxh3_128()
    h.update(f"{image.mode}:{image.width}x{image.height}:".encode())
    h.update(image.tobytes())
    return h.hexdigest()


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ReadError("vanished before it could be read") from None
    except PermissionError:
        raise ReadError("permission denied") from None
    except IsADirectoryError:
        raise ReadError("is a directory") from None
    except OSError as exc:
        if exc.errno == errno.EIO:
            raise ReadError("I/O error reading the file (bad disk or network share?)") from None
        raise ReadError(f"cannot read: {exc.strerror or exc}") from None

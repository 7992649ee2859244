"""Reads a file once for both hashing and decoding, and turns OS errors into reasons."""

from __future__ import annotations

import errno
from pathlib import Path

import xxhash


class ReadError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def content_hash(data: bytes) -> str:
    """xxh3-128: fast enough to never be the bottleneck, wide enough for 100M files."""
    return xxhash.xxh3_128_hexdigest(data)


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

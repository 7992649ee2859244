"""Reads a file once for both hashing and decoding, and turns OS errors into reasons.

Anything the scan called a file may be something else by the time it is read (a FIFO or a
device swapped in, a 1 TB sparse file, a file still being copied), and a read must never
block or load an unbounded amount: the file is opened without blocking, its type and size
are checked on the open descriptor, and at most ``size + 1`` bytes are read.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import xxhash
from PIL import Image

# What a non-regular file is, for the reason ("not a regular file (FIFO)").
_KINDS = (
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)
_HASH_BAND_BYTES = 32 * 1024 * 1024  # rows hashed at a time for big images
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


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
    coefficient data. Big images are hashed in bands of rows (the same digest as hashing all
    bytes at once), so a 250 MP panorama is not copied whole a second time."""
    h = xxhash.xxh3_128()
    h.update(f"{image.mode}:{image.width}x{image.height}:".encode())
    row_bytes = max(1, len(image.getbands()) * image.width)
    rows = max(1, _HASH_BAND_BYTES // row_bytes)
    if rows >= image.height:
        h.update(image.tobytes())
    else:
        for top in range(0, image.height, rows):
            h.update(image.crop((0, top, image.width, min(top + rows, image.height))).tobytes())
    return h.hexdigest()


def read_file(path: Path, *, max_size: int) -> bytes:
    """The whole content of a regular file of at most ``max_size`` bytes, else ReadError.

    Never blocks on a FIFO (opened with O_NONBLOCK, refused after fstat) and never reads more
    than the size fstat reported plus one byte, which is how growth during the read shows.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ReadError(_open_reason(path, exc)) from None
    try:
        st = os.fstat(fd)
        _check_type_and_size(st, max_size)
        os.set_blocking(fd, True)  # O_NONBLOCK was only for the open (some FUSE mounts honour it)
        with open(fd, "rb", closefd=False) as fh:
            data = fh.read(st.st_size + 1)
    except MemoryError:
        raise ReadError(f"not enough memory to read {_size_text(st.st_size)}") from None
    except OSError as exc:
        raise ReadError(_io_reason(exc)) from None
    finally:
        os.close(fd)
    if len(data) > st.st_size:
        raise ReadError(
            f"changed while being read: grew beyond its {st.st_size} bytes (still being written?)"
        )
    if len(data) < st.st_size:
        raise ReadError(
            f"changed while being read: ended after {len(data)} of {st.st_size} bytes "
            "(truncated while being read?)"
        )
    return data


def _check_type_and_size(st: os.stat_result, max_size: int) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise ReadError("is a directory")
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "special file")
        raise ReadError(f"not a regular file ({kind})")
    if st.st_size > max_size:
        raise ReadError(
            f"file too large: {_size_text(st.st_size)} is over the {_size_text(max_size)} "
            "limit (VITRIEVE_MAX_FILE_SIZE)"
        )


def _open_reason(path: Path, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "vanished before it could be read"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ENXIO:  # what open(2) says for a Unix socket
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                return "not a regular file (socket)"
        except OSError:
            pass
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links"
    return _io_reason(exc)


def _io_reason(exc: OSError) -> str:
    if exc.errno == errno.EIO:
        return "I/O error reading the file (bad disk or network share?)"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    return f"cannot read: {exc.strerror or exc}"


def _size_text(n: int) -> str:
    """Bytes in binary units, as `ls -lh` would show them: '1.0 TiB', '2.0 GiB', '512 B'."""
    value, unit = float(n), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"

"""Reads a file once for both hashing and decoding, and turns OS errors into reasons.

Anything the scan called a file may be something else by the time it is read (a FIFO or a
device swapped in, a 1 TB sparse file, a file still being copied), and a read must never
block or load an unbounded amount: the file is opened without blocking, its type and size
are checked on the open descriptor, and at most ``size + 1`` bytes are read.

Nor may a read leave the library: a file or folder may have been swapped for a symbolic link
since the scan (which never follows links). Every read of a library file walks from its root
without following any link (`read_library_file`, `open_library_file`), so a link met at read
time is one failure, "is a symbolic link" or "a parent folder is a symbolic link", and nothing
outside the roots is ever opened.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path, PurePath

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
# Folders on the way are opened only to be walked through: O_PATH (Linux) needs no read
# permission on them, just search permission, as a plain open of the whole path does.
_DIR_FLAGS = (
    (getattr(os, "O_PATH", 0) or os.O_RDONLY | os.O_NONBLOCK)
    | os.O_DIRECTORY
    | getattr(os, "O_CLOEXEC", 0)
)


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


def read_file(path: Path, *, max_size: int, root: Path | None = None) -> bytes:
    """The whole content of a regular file of at most ``max_size`` bytes, else ReadError.

    Never blocks on a FIFO (opened with O_NONBLOCK, refused after fstat) and never reads more
    than the size fstat reported plus one byte, which is how growth during the read shows.

    With ``root`` (a folder ``path`` lies in) it is `read_library_file(root, path below root)`:
    no link below the root is followed. Without it the path is opened as given, links and all,
    which is only right for a file the user names (a query file, `vitrieve embed`), never for a
    file of the library.
    """
    if root is not None:
        return read_library_file(root, _below(path, root), max_size=max_size)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ReadError(_open_reason(exc, lambda: os.stat(path))) from None
    return _read_open(fd, max_size)


def read_library_file(root: Path, rel_path: str | PurePath, *, max_size: int) -> bytes:
    """The bytes of the library file ``rel_path`` of ``root``, read without following any
    symbolic link below the root (`open_library_file`), bounded as `read_file` is.

    The one way to read a file of the library: what the scan approved is what gets read, even
    when a file or folder was swapped for a link after the scan.
    """
    return _read_open(_open_beneath(root, rel_path), max_size)


def open_library_file(root: Path, rel_path: str | PurePath) -> int:
    """A blocking, read-only descriptor of the regular file ``rel_path`` below ``root``, reached
    without following any symbolic link below the root; else ReadError with the reason. The
    caller closes it.

    How: the root is opened as a folder (as registered: the root itself may sit behind a link
    the user set up), then each folder of ``rel_path`` is opened from its parent's descriptor
    (``dir_fd``) with ``O_DIRECTORY | O_NOFOLLOW``, and the file itself from the last one with
    ``O_NOFOLLOW``. The kernel resolves a single name per call and refuses to follow it when it
    is a link, so there is no window between a check and the open: a link anywhere below the
    root, whenever it was swapped in, is an error ("is a symbolic link", "a parent folder is a
    symbolic link"), and nothing outside the root can be opened. It costs one ``open`` per
    folder level, and an ``lstat`` only to word a failure.
    """
    fd = _open_beneath(root, rel_path)
    try:
        st = os.fstat(fd)
        _check_type_and_size(st, None)
        os.set_blocking(fd, True)
    except ReadError:
        os.close(fd)
        raise
    except OSError as exc:
        os.close(fd)
        raise ReadError(_io_reason(exc)) from None
    return fd


def open_real_path(path: Path) -> int:
    """`open_library_file` for an absolute path that was resolved (``Path.resolve``) when it was
    approved: opened from ``/`` without following any link, so a path that has gained a link
    since (the file or one of its folders swapped for one) is refused."""
    anchor = Path(path.anchor or "/")
    return open_library_file(anchor, _below(path, anchor))


def _below(path: Path, root: Path) -> PurePath:
    try:
        return PurePath(path).relative_to(root)
    except ValueError:
        raise ReadError(f"not inside its root {root}") from None


def _parts(rel_path: str | PurePath) -> tuple[str, ...]:
    """The names of ``rel_path``, refusing anything that could leave the root textually."""
    rel = PurePath(rel_path)
    if rel.is_absolute() or not rel.parts or ".." in rel.parts:
        raise ReadError("not a relative path inside its root")
    return rel.parts


def _open_beneath(root: Path, rel_path: str | PurePath) -> int:
    """The non-blocking descriptor of the last name of ``rel_path``, walked from ``root``
    without following links (see `open_library_file`); its type is not checked yet."""
    *folders, name = _parts(rel_path)
    try:
        dir_fd = os.open(root, _DIR_FLAGS)
    except OSError as exc:
        raise ReadError(_open_reason(exc, lambda: os.stat(root))) from None
    try:
        for folder in folders:
            try:
                fd = os.open(folder, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)
            except OSError as exc:
                raise ReadError(_parent_reason(exc, folder, dir_fd)) from None
            os.close(dir_fd)
            dir_fd = fd
        try:
            return os.open(name, _OPEN_FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)
        except OSError as exc:
            raise ReadError(
                _open_reason(exc, lambda: os.stat(name, dir_fd=dir_fd, follow_symlinks=False))
            ) from None
    finally:
        os.close(dir_fd)


def _read_open(fd: int, max_size: int) -> bytes:
    """Reads the open, non-blocking ``fd`` (closed here) under the rules of `read_file`."""
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


def _check_type_and_size(st: os.stat_result, max_size: int | None) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise ReadError("is a directory")
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "special file")
        raise ReadError(f"not a regular file ({kind})")
    if max_size is not None and st.st_size > max_size:
        raise ReadError(
            f"file too large: {_size_text(st.st_size)} is over the {_size_text(max_size)} "
            "limit (VITRIEVE_MAX_FILE_SIZE)"
        )


def _open_reason(exc: OSError, lstat: Callable[[], os.stat_result]) -> str:
    """Why ``open`` failed; ``lstat`` looks at what is there (only called to word a failure)."""
    if isinstance(exc, FileNotFoundError):
        return "vanished before it could be read"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno in (errno.ENXIO, errno.ELOOP, errno.EMLINK):
        # ENXIO: what open(2) says for a Unix socket; ELOOP (EMLINK on FreeBSD): O_NOFOLLOW met
        # a link, or a path given whole had too many of them.
        try:
            mode = lstat().st_mode
        except OSError:
            mode = 0
        if stat.S_ISSOCK(mode):
            return "not a regular file (socket)"
        if stat.S_ISLNK(mode):
            return "is a symbolic link"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links"
    return _io_reason(exc)


def _parent_reason(exc: OSError, folder: str, dir_fd: int) -> str:
    """Why a folder on the way to a library file could not be opened without following links
    (``O_DIRECTORY | O_NOFOLLOW`` on a link fails with ENOTDIR on Linux, ELOOP elsewhere)."""
    if isinstance(exc, FileNotFoundError):
        return "vanished before it could be read"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno in (errno.ENOTDIR, errno.ELOOP, errno.EMLINK):
        try:
            mode = os.stat(folder, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except OSError:
            return "vanished before it could be read"
        if stat.S_ISLNK(mode):
            return "a parent folder is a symbolic link"
        if not stat.S_ISDIR(mode):
            return "a parent folder is no longer a folder"
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

"""Moving one file safely: never onto an existing file, never leaving it under no name.

Within a file system a move is a hard link followed by unlinking the old name, so a crash in
between leaves two names for one file; across file systems the file is copied (with its
modification time) under a temporary name, renamed into place, and only then is the original
removed.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


def move_file(src: Path, dst: Path) -> None:
    """Moves one file, never replacing an existing one: a hard link then unlinking the source
    (a crash in between leaves two names for one file), or a copy across file systems."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)  # refuses (FileExistsError) when dst exists
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _copy_across(src, dst)
        elif exc.errno in _NO_HARD_LINKS:
            _rename_no_replace(src, dst)
            return
        else:
            raise
    os.unlink(src)


def _copy_across(src: Path, dst: Path) -> None:
    partial = dst.with_name(f".{dst.name}.vitrieve-partial")
    shutil.copy2(src, partial)  # keeps the modification time
    with open(partial, "rb+") as f:
        os.fsync(f.fileno())
    if partial.stat().st_size != src.stat().st_size:
        partial.unlink()
        raise OSError(errno.EIO, f"copy of {src} is incomplete")
    try:
        _rename_no_replace(partial, dst)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


def _rename_no_replace(src: Path, dst: Path) -> None:
    if exists(dst):
        raise FileExistsError(errno.EEXIST, "destination exists", str(dst))
    os.rename(src, dst)


def exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):
            return True
        if a.stat().st_size != b.stat().st_size:
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                x, y = fa.read(1 << 20), fb.read(1 << 20)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False

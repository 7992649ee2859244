"""Moving one file safely: never onto an existing file, never leaving it under no name, and a
move that cannot finish leaves nothing behind.

Within a file system a move is a hard link followed by unlinking the old name, so a crash in
between leaves two names for one file; across file systems the file is copied (with its
modification time) under a temporary name, renamed into place, and only then is the original
removed. When the original cannot be removed (a read-only photo mount, no permission on its
folder) the new name is taken away again, and a copy that fails midway (a full disk) is
deleted, as are the folders the move made: a failed move raises with the disk as it was.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


def move_file(src: Path, dst: Path) -> None:
    """Moves one file, never replacing an existing one: a hard link then unlinking the source
    (a crash in between leaves two names for one file), or a copy across file systems. Raises
    OSError, with nothing left at `dst` nor any folder made for it, if it cannot finish."""
    made = _make_parents(dst.parent)
    try:
        _move(src, dst)
    except BaseException:
        _remove_empty(made)
        raise


def _move(src: Path, dst: Path) -> None:
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
    try:
        os.unlink(src)
    except OSError:
        # The original stays where it was (read-only folder): take the new name away again,
        # unless the original vanished meanwhile and the new name is now the only one.
        if exists(src):
            os.unlink(dst)
        raise


def _copy_across(src: Path, dst: Path) -> None:
    partial = dst.with_name(f".{dst.name}.vitrieve-partial")
    try:
        shutil.copy2(src, partial)  # keeps the modification time
        with open(partial, "rb+") as f:
            os.fsync(f.fileno())
        if partial.stat().st_size != src.stat().st_size:
            raise OSError(errno.EIO, f"copy of {src} is incomplete")
        _rename_no_replace(partial, dst)
    except BaseException:
        partial.unlink(missing_ok=True)  # a full disk leaves no half-written copy
        raise


def _rename_no_replace(src: Path, dst: Path) -> None:
    if exists(dst):
        raise FileExistsError(errno.EEXIST, "destination exists", str(dst))
    os.rename(src, dst)


def _make_parents(folder: Path) -> list[Path]:
    """Creates `folder` and its missing parents; returns those it created, deepest first."""
    missing = []
    while not exists(folder) and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    made: list[Path] = []
    try:
        for f in reversed(missing):
            try:
                f.mkdir()
            except FileExistsError:
                continue  # made by someone else meanwhile: not ours to remove
            made.insert(0, f)
    except OSError:
        _remove_empty(made)
        raise
    return made


def _remove_empty(deepest_first: list[Path]) -> None:
    for f in deepest_first:
        try:
            f.rmdir()
        except OSError:
            return  # not empty (another move uses it) or already gone


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

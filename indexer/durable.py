"""fsync for files and folders: what makes a write, or a rename into a folder, survive a power
cut. Shared by every atomic writer of the data directory (index files, a new catalog, the
OpenVINO model), so each says "durable" the same way."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path, *, strict: bool = False) -> None:
    """Make a rename into `path` durable. Some filesystems cannot fsync a folder: the index
    files, rebuilt from SQL at any doubt, shrug that off (the rename is still atomic there);
    `strict` writers (a new catalog, OpenVINO's model) raise instead."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        if strict:
            raise
        return
    try:
        os.fsync(fd)
    except OSError:
        if strict:
            raise
    finally:
        os.close(fd)

"""Recursive photo-folder scanner feeding the incremental indexer.

The indexer diffs what this yields against the database, so the scanner must be
*reproducible* (same tree -> same sequence) and *robust*: one unreadable folder or a
file deleted mid-scan must not abort a scan of a 100k-photo library. Per-entry trouble
is reported through ``on_problem`` and the walk goes on; only a bad root raises.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["JUNK_DIRS", "ScanProblem", "ScannedFile", "scan_tree"]

log = logging.getLogger(__name__)

#: Folder names (lower-cased; matched case-insensitively) that NAS boxes, OSes and archive
#: tools litter photo trees with. They hold thumbnails or deleted files, never real photos.
#: Dot-prefixed ones (``.Trash-1000``, ``.thumbnails``) are also caught by the hidden rule.
JUNK_DIRS: frozenset[str] = frozenset(
    {
        "@eadir",  # Synology thumbnail cache
        "$recycle.bin",  # Windows recycle bin on external drives
        "system volume information",
        "__macosx",  # resource forks from zips made on macOS
        "lost+found",
        ".thumbnails",
    }
)


@dataclass(frozen=True, slots=True)
class ScannedFile:
    """A candidate image. ``rel_path`` is POSIX, relative to the scan root, no leading '/'."""

    rel_path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class ScanProblem:
    """Something skipped for a reason worth telling the user ('' rel_path = the root)."""

    rel_path: str
    reason: str


def _reason(exc: OSError) -> str:
    """Turn an OSError into a short, specific reason a user can act on."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "vanished during scan"
    if isinstance(exc, NotADirectoryError):
        return "no longer a directory"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links"
    return f"OS error: {exc.strerror or exc}"


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _check_dir(path: Path, what: str) -> None:
    """Raise with the path named: a missing root must not look like an empty library
    (the indexer would otherwise mark every photo deleted)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"{what} does not exist", str(path)) from None
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, f"{what} is not a directory", str(path))


def scan_tree(
    root: Path,
    *,
    extensions: Collection[str],
    subdir: str = "",
    exclude: Collection[Path] = (),
    follow_symlinks: bool = False,
    on_problem: Callable[[ScanProblem], None] | None = None,
    skipped: Counter[str] | None = None,
) -> Iterator[ScannedFile]:
    """Yield image files under ``root`` (or ``root/subdir``), sorted by name per directory.

    A directory's files come before its sub-directories' contents. Hidden entries, JUNK_DIRS
    and ``exclude`` paths (compared after resolving, so the data dir is skipped however it
    is spelled) are skipped silently; so are symlinks unless ``follow_symlinks``, which
    then guards against loops by (st_dev, st_ino). Problems go to ``on_problem`` (default:
    logged as warnings). Files left out for their extension are counted in ``skipped`` by
    lower-cased extension ('' for none), so a summary can say what was not indexed: a folder of
    .mov or .txt files must not look like one nobody scanned. Raises FileNotFoundError /
    NotADirectoryError if ``root`` or ``subdir`` is missing or not a directory, ValueError if
    ``subdir`` escapes ``root``.
    """
    root = Path(root)
    _check_dir(root, "scan root")
    sub = PurePosixPath(subdir.replace("\\", "/"))
    if sub.is_absolute() or ".." in sub.parts:
        raise ValueError(f"subdir must be a relative path inside the root: {subdir!r}")
    start_rel = "/".join(p for p in sub.parts if p != ".")
    start = root / start_rel if start_rel else root
    if start_rel:
        _check_dir(start, "scan subdir")

    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    excluded = {os.path.realpath(p) for p in exclude}

    def report(rel: str, reason: str) -> None:
        problem = ScanProblem(rel, reason)
        if on_problem is None:
            log.warning("scan: skipped %r: %s", problem.rel_path or ".", problem.reason)
        else:
            on_problem(problem)

    start_real = os.path.realpath(start)
    if start_real in excluded:
        return
    visited: set[tuple[int, int]] = set()
    if follow_symlinks:
        st = os.stat(start)
        visited.add((st.st_dev, st.st_ino))

    # Explicit stack (no recursion): deep trees must not hit the recursion limit.
    # Items: (path to open, rel_path from root, resolved path for exclusion checks).
    stack: list[tuple[str, str, str]] = [(os.fspath(start), start_rel, start_real)]
    while stack:
        dir_path, dir_rel, dir_real = stack.pop()
        try:
            # Materialise and close the listing before yielding: a slow consumer must not
            # hold one file descriptor per tree level open.
            with os.scandir(dir_path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            report(dir_rel, _reason(exc))
            continue

        subdirs: list[tuple[str, str, str]] = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            rel = _join(dir_rel, name)
            is_link = False
            try:
                is_link = entry.is_symlink()
                if is_link and not follow_symlinks:
                    continue
                # Plain entries: realpath is parent's plus name (no syscall per file).
                real = os.path.realpath(entry.path) if is_link else os.path.join(dir_real, name)
                if real in excluded:
                    continue
                if entry.is_dir():
                    if name.lower() in JUNK_DIRS:
                        continue
                    if follow_symlinks:
                        st = entry.stat()
                        key = (st.st_dev, st.st_ino)
                        if key in visited:
                            report(rel, "symlink loop or directory already scanned")
                            continue
                        visited.add(key)
                    subdirs.append((entry.path, rel, real))
                    continue
                ext = os.path.splitext(name)[1].lower()
                if ext not in exts:
                    if skipped is not None:
                        skipped[ext] += 1
                    continue
                st = entry.stat()  # follows the link when is_link (follow mode only)
            except FileNotFoundError:
                report(rel, "broken symlink" if is_link else "vanished during scan")
                continue
            except OSError as exc:
                report(rel, _reason(exc))
                continue
            if not stat.S_ISREG(st.st_mode):
                report(rel, "not a regular file")
                continue
            yield ScannedFile(rel, st.st_size, st.st_mtime_ns)

        # Reverse so the alphabetically first sub-directory is popped (walked) first.
        stack.extend(reversed(subdirs))

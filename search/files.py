"""Which files the UI may hand to a browser: only images under registered roots.

Every path the UI reads bytes from (an "open original" view, a download, a query picked by
path) passes through `servable_path` first. The check works on the *resolved* path, so a
symlink inside a root that points outside it is refused, and any `..` component is refused
before resolving. The data directory is refused even when a root contains it (the catalog and
caches are not photos), and so are hidden files and non-image files, which ingest never
catalogs either.

Approval is not the read: the approved path is resolved, so whoever reads its bytes (the
download route, the lightbox, a query picked by path) opens it from `/` without following any
link (`indexer.reader.open_real_path`), and a file or folder swapped for a link between the
approval and the read is refused, never followed.

A refusal must not tell a visitor anything about the disk outside the roots: a path that is
not under a root (as typed, or once its symlinks are resolved) gets the same message as a
file that does not exist, and a path that is not under a root as typed is refused before the
file system is touched at all, so not even the time it takes depends on what lies outside.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePath

from sqlalchemy import select

from vitrieve.core.config import CAMERA_RAW_EXTENSIONS
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.decode import IMAGE_EXTENSIONS
from vitrieve.indexer.library import Library
from vitrieve.indexer.thumbnails import thumbnail_path
from vitrieve.tables.catalog import Root

_HASH = re.compile(r"^[0-9a-f]{32}$")


class PathRefusedError(VitrieveError):
    """A path the UI must not serve; the message says why, without revealing anything more."""


def registered_roots(lib: Library) -> list[Path]:
    """Roots as registered (resolved when they were added)."""
    with lib.sessions() as session:
        paths = session.scalars(select(Root.path)).all()
    return [Path(p) for p in paths]


def servable_path(lib: Library, path: str | os.PathLike[str]) -> Path:
    """The resolved path of an image file under a registered root, or PathRefusedError."""
    return check_servable(path, registered_roots(lib), lib.settings.home)


def not_found(text: str) -> PathRefusedError:
    """The one refusal for "missing" and "outside the roots", so neither can be told apart."""
    return PathRefusedError(f"refused: {text}: no such image under the registered roots")


def check_servable(path: str | os.PathLike[str], roots: Iterable[Path], home: Path) -> Path:
    """The rule itself, free of the catalog so it can be reasoned about (and tested) alone."""
    text = os.fspath(path)
    if not text or "\x00" in text:
        raise PathRefusedError("refused: empty or malformed path")
    given = PurePath(text)
    if not given.is_absolute():
        raise PathRefusedError(f"refused: {text} is not an absolute path")
    if ".." in given.parts:
        raise PathRefusedError(f"refused: {text} contains '..' (path traversal)")
    roots = list(roots)
    resolved_roots = [_resolved(r) for r in roots]  # a root may now sit behind a symlink
    if _containing_root(given, roots + resolved_roots) is None:
        raise not_found(text)  # decided without a single system call on the path itself
    try:
        real = Path(text).resolve()  # not strict: a missing file is judged like any other
    except (OSError, RuntimeError):  # permission denied, symlink loop
        raise not_found(text) from None
    root = _containing_root(real, resolved_roots)
    if root is None:
        raise not_found(text)  # a symlink out of the roots, whether its target exists or not
    home = home.resolve()
    if real == home or home in real.parents:
        raise PathRefusedError(f"refused: {text} is inside the vitrieve data directory")
    if any(part.startswith(".") for part in real.relative_to(root).parts):
        raise PathRefusedError(f"refused: {text} is a hidden file or folder")
    if not real.exists():
        raise not_found(text)
    if not real.is_file():
        raise PathRefusedError(f"refused: {text} is not a regular file")
    if real.suffix.lower() not in IMAGE_EXTENSIONS | CAMERA_RAW_EXTENSIONS:  # RAWs: originals
        raise PathRefusedError(f"refused: {text} is not an image file")
    return real


def _resolved(root: Path) -> Path:
    try:
        return root.resolve()
    except (OSError, RuntimeError):
        return root


def _containing_root(path: PurePath, roots: Iterable[Path]) -> Path | None:
    for root in roots:
        if path == root or root in path.parents:
            return root
    return None


def thumbnail_file(lib: Library, content_hash: str | None) -> Path | None:
    """The 256 px WebP thumbnail of a content hash, if it was made (hash checked as hex)."""
    if not content_hash or not _HASH.match(content_hash):
        return None
    path = thumbnail_path(lib.settings.thumb_dir, content_hash)
    return path if path.is_file() else None

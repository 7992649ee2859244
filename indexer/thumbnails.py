"""256 px WebP thumbnails, made at ingest from the already-decoded image.

The UI draws grids from these and never decodes a full photo. They are keyed by content hash,
so byte-identical copies share one file and a moved file keeps its thumbnail. They are derived
files: one that is missing or does not decode is made again from the original
(indexer.thumb_repair), so `thumbnail_ok` is the test of "this thumbnail exists".
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from PIL import Image

THUMB_SIZE = 256
# libwebp's effort: 2 encodes a 256 px thumbnail ~2.3x faster than 4 for ~4% more bytes, so decode
# threads stay ahead of a 3x faster runtime on two cores (benchmarks/thumbnails.py).
WEBP_METHOD = 2


def thumbnail_path(thumb_dir: Path, content_hash: str) -> Path:
    return thumb_dir / content_hash[:2] / f"{content_hash}.webp"


def thumbnail_ok(path: Path) -> bool:
    """Whether `path` is a whole WebP that decodes. Checked once per (size, mtime): a grid asks
    for the same thumbnails on every redraw, and a rewritten file has a new mtime."""
    try:
        st = path.stat()
    except OSError:
        return False
    return _decodes(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=65_536)
def _decodes(path: str, size: int, mtime_ns: int) -> bool:
    try:
        with Image.open(path) as im:
            if im.format != "WEBP":
                return False
            im.load()  # a truncated file fails here ("could not create decoder object")
    except Exception:  # any failure to decode means "make it again", never a crash
        return False
    return True


def write_thumbnail(
    image: Image.Image,
    thumb_dir: Path,
    content_hash: str,
    *,
    replace: bool = False,
    method: int = WEBP_METHOD,
) -> Path:
    """Writes once (temp file + rename, so a reader never sees half a file, and the temp file
    is removed on any error); a damaged file in the way is replaced, and `replace` remakes even
    a good one. The one thumbnail writer: the GPU path hands it an image already at thumbnail
    size (so it is not resized again) and asks for WebP `method` 0, the fastest encoding."""
    path = thumbnail_path(thumb_dir, content_hash)
    if not replace and thumbnail_ok(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.BILINEAR)
    # A unique temp name per call: two decode threads may meet on byte-identical files.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            thumb.save(fh, format="WEBP", quality=80, method=method)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path

"""256 px WebP thumbnails, made at ingest from the already-decoded image.

The UI draws grids from these and never decodes a full photo. They are keyed by content hash,
so byte-identical copies share one file and a moved file keeps its thumbnail.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from PIL import Image

THUMB_SIZE = 256


def thumbnail_path(thumb_dir: Path, content_hash: str) -> Path:
    return thumb_dir / content_hash[:2] / f"{content_hash}.webp"


def write_thumbnail(image: Image.Image, thumb_dir: Path, content_hash: str) -> Path:
    """Writes once (temp file + rename, so a reader never sees half a file)."""
    path = thumbnail_path(thumb_dir, content_hash)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.BILINEAR)
    # A unique temp name per call: two decode threads may meet on byte-identical files.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            thumb.save(fh, format="WEBP", quality=80, method=4)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path

"""What a thumbnail grid needs per image, in one query: path, metadata, date and thumbnail.

The grid never decodes an original photo to draw itself: `thumb` is the 256 px WebP made at
ingest, found by content hash under the data directory. One that was deleted or damaged is made
again from the original here, once, before the grid is drawn (None when it cannot be, e.g. the
file is gone or failed to decode).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import ColumnElement, and_, or_, select

from vitrieve.indexer.library import Library
from vitrieve.indexer.thumb_repair import HEALABLE, ensure_thumbnails
from vitrieve.indexer.thumbnails import thumbnail_ok
from vitrieve.search.files import thumbnail_file
from vitrieve.tables.catalog import Image, ImageStatus, Root
from vitrieve.tables.fsnames import display_path

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class GridItem:
    image_id: int
    path: str
    score: float | None  # similarity to the query; None when browsing
    width: int | None
    height: int | None
    format: str | None
    size: int
    date: datetime | None  # when the photo was taken (EXIF), else the file's modification time
    date_is_exif: bool
    thumb: Path | None

    @property
    def shown(self) -> str:
        """The path as people see it (a name that is not UTF-8 shows as caf\\xe9.jpg)."""
        return display_path(self.path)

    @property
    def name(self) -> str:
        return display_path(Path(self.path).name)

    @property
    def folder(self) -> str:
        return display_path(Path(self.path).parent)


def grid_items(
    lib: Library, ids: Sequence[int], scores: Mapping[int, float] | None = None
) -> list[GridItem]:
    """Items for `ids` in the given order; ids no longer in the catalog are dropped (SQL wins)."""
    rows = {}
    for i in range(0, len(ids), _CHUNK):
        with lib.sessions() as session:
            for r in session.execute(
                select(
                    Image.id,
                    Root.path.label("root"),
                    Image.rel_path,
                    Image.width,
                    Image.height,
                    Image.format,
                    Image.size,
                    Image.mtime_ns,
                    Image.captured_at,
                    Image.content_hash,
                    Image.status,
                )
                .join(Root)
                .where(Image.id.in_(ids[i : i + _CHUNK]))
            ):
                rows[r.id] = r
    healed = ensure_thumbnails(
        lib.settings.thumb_dir,
        ((r.content_hash, Path(r.root) / r.rel_path) for r in rows.values() if _healable(r)),
        roots={Path(r.root) for r in rows.values()},
    )
    out = []
    for image_id in ids:
        if image_id not in rows:
            continue
        r = rows[image_id]
        taken = photo_date(r.captured_at, r.mtime_ns)
        out.append(
            GridItem(
                image_id=r.id,
                path=str(Path(r.root) / r.rel_path),
                score=None if scores is None else scores.get(r.id),
                width=r.width,
                height=r.height,
                format=r.format,
                size=r.size,
                date=taken,
                date_is_exif=r.captured_at is not None,
                thumb=healed.get(r.content_hash) if _healable(r) else _made(lib, r.content_hash),
            )
        )
    return out


def _healable(row) -> bool:
    return row.status in HEALABLE and row.content_hash is not None


def _made(lib: Library, content_hash: str | None) -> Path | None:
    thumb = thumbnail_file(lib, content_hash)
    return thumb if thumb is not None and thumbnail_ok(thumb) else None


def day_bounds(date_from: date | None, date_to: date | None) -> tuple[datetime, datetime]:
    """An inclusive range of days as [start of first day, end of last day]."""
    lo = datetime.combine(date_from, time.min) if date_from else datetime.min
    hi = datetime.combine(date_to, time.max) if date_to else datetime.max
    return lo, hi


def photo_date(captured_at: datetime | None, mtime_ns: int) -> datetime:
    """The date a grid shows and a date filter tests: EXIF capture time, else file time."""
    return captured_at or datetime.fromtimestamp(mtime_ns / 1e9)


def dated_ids(lib: Library, lo: datetime, hi: datetime) -> np.ndarray:
    """Sorted ids of the embedded images whose `photo_date` lies in [lo, hi], for a search to
    keep to. SQL narrows by file time with a day's margin (local time vs the epoch, DST), then
    `photo_date` decides, so the set is exactly what the grid's dates show."""
    by_file: list[ColumnElement[bool]] = [Image.captured_at.is_(None)]
    low, high = _epoch_ns(lo, -1), _epoch_ns(hi, 1)
    if lo > datetime.min and low is not None:
        by_file.append(Image.mtime_ns >= low)
    if hi < datetime.max and high is not None:
        by_file.append(Image.mtime_ns <= high)
    with lib.sessions() as session:
        rows = session.execute(
            select(Image.id, Image.captured_at, Image.mtime_ns).where(
                Image.status == ImageStatus.EMBEDDED,
                or_(Image.captured_at.between(lo, hi), and_(*by_file)),
            )
        ).all()
    ids = [i for i, captured, mtime in rows if lo <= photo_date(captured, mtime) <= hi]
    return np.asarray(sorted(ids), dtype=np.int64)


def _epoch_ns(moment: datetime, margin_days: int) -> int | None:
    try:
        return int((moment + timedelta(days=margin_days)).timestamp() * 1e9)
    except (OverflowError, OSError, ValueError):  # near datetime.min/max: no bound
        return None

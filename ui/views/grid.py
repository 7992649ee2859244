"""What a thumbnail grid needs per image, in one query: path, metadata, date and thumbnail.

The grid never decodes an original photo to draw itself: `thumb` is the 256 px WebP made at
ingest, found by content hash under the data directory. One that was deleted or damaged is made
again from the original here, once, before the grid is drawn (None when it cannot be, e.g. the
file is gone or failed to decode).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from vitrieve.indexer.catalog import ImageSummary, ShowsImage, describe_images
from vitrieve.indexer.library import Library
from vitrieve.indexer.thumb_repair import HEALABLE, ensure_thumbnails
from vitrieve.indexer.thumbnails import thumbnail_ok
from vitrieve.search.duplicates.stacks import StackInfo, stacks_of
from vitrieve.search.files import thumbnail_file
from vitrieve.tables.fsnames import display_path


@dataclass(frozen=True, slots=True)
class GridItem(ShowsImage):
    image: ImageSummary
    score: float | None  # similarity to the query; None when browsing
    thumb: Path | None
    stack: StackInfo | None = None  # the stack it is the cover of (grids show it once)

    @property
    def date(self) -> datetime:
        """When the photo was taken (EXIF), else the file's modification time."""
        return self.image.taken

    @property
    def date_is_exif(self) -> bool:
        return self.image.captured_at is not None

    @property
    def stacked(self) -> int:
        """How many more photos its stack holds (the "+7" on its cover); 0 outside a stack."""
        return 0 if self.stack is None else len(self.stack.members) - 1

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
    with lib.sessions() as session:
        images = describe_images(session, ids)
        stacks = stacks_of(session, ids)
    healed = ensure_thumbnails(
        lib.settings.thumb_dir,
        ((key, Path(im.path)) for im in images.values() if (key := _heal_key(im)) is not None),
        roots={Path(im.root) for im in images.values()},
    )
    out = []
    for image_id in ids:
        im = images.get(image_id)
        if im is None:
            continue
        key = _heal_key(im)
        out.append(
            GridItem(
                im,
                score=None if scores is None else scores.get(image_id),
                thumb=healed.get(key) if key is not None else _made(lib, im.content_hash),
                stack=_covered(stacks.get(image_id), image_id),
            )
        )
    return out


def _covered(stack: StackInfo | None, image_id: int) -> StackInfo | None:
    """The stack an image is the cover of; a member shown on its own carries none."""
    return stack if stack is not None and stack.cover == image_id else None


def _heal_key(image: ImageSummary) -> str | None:
    """The content hash whose thumbnail can be made again here; None when it cannot."""
    return image.content_hash if image.status in HEALABLE else None


def _made(lib: Library, content_hash: str | None) -> Path | None:
    thumb = thumbnail_file(lib, content_hash)
    return thumb if thumb is not None and thumbnail_ok(thumb) else None


def day_bounds(date_from: date | None, date_to: date | None) -> tuple[datetime, datetime]:
    """An inclusive range of days as [start of first day, end of last day]."""
    lo = datetime.combine(date_from, time.min) if date_from else datetime.min
    hi = datetime.combine(date_to, time.max) if date_to else datetime.max
    return lo, hi

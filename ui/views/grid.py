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
from vitrieve.search.duplicates.raw_pairs import pairs_among
from vitrieve.search.duplicates.stacks import StackInfo, stacks_of
from vitrieve.search.files import thumbnail_file
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.views.dups import human_size


@dataclass(frozen=True, slots=True)
class GridItem(ShowsImage):
    image: ImageSummary
    score: float | None  # similarity to the query; None when browsing
    thumb: Path | None
    match: str = ""  # the score in words on the calibrated curve ("same photo", ...)
    stack: StackInfo | None = None  # the stack it is the cover of (grids show it once)
    raw: str | None = None  # the RAW shot with this JPEG/HEIF (search/duplicates/raw_pairs.py)

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
    pairs = pairs_among(lib, ids)
    raws = describe_images_of(lib, list(pairs.rendition_of))
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
                raw=_raw_path(raws, pairs.raw_of.get(image_id)),
            )
        )
    return out


def describe_images_of(lib: Library, ids: Sequence[int]) -> dict[int, ImageSummary]:
    if not ids:
        return {}
    with lib.sessions() as session:
        return describe_images(session, ids)


def _raw_path(raws: Mapping[int, ImageSummary], raw_id: int | None) -> str | None:
    raw = raws.get(raw_id) if raw_id is not None else None
    return raw.path if raw is not None else None


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


# -- The justified grid (Google Photos / Immich): rows of equal height, widths by aspect ratio.

MIN_ASPECT = 0.5  # a tall or a panoramic photo is cropped to this range in its row, so one
MAX_ASPECT = 2.5  # picture never takes a whole row or shrinks to a sliver


@dataclass(frozen=True, slots=True)
class Row:
    """Items [start, stop) of a grid drawn as one row of columns of relative `widths`: each
    item's aspect ratio (clamped), so every picture of the row has the same height; a last row
    that would not fill the width gets a blank `filler` column instead of being blown up."""

    start: int
    stop: int
    widths: tuple[float, ...]
    filler: float = 0.0

    @property
    def columns(self) -> list[float]:
        return [*self.widths, self.filler] if self.filler > 0 else list(self.widths)


def clamped_aspect(width: int | None, height: int | None) -> float:
    if not width or not height:
        return 1.0
    return min(MAX_ASPECT, max(MIN_ASPECT, width / height))


def justified_rows(aspects: Sequence[float], row_aspect: float) -> list[Row]:
    """Cuts pictures of these aspect ratios into rows whose aspects add up to about
    `row_aspect` (the row's width over its height: 6 means six square photos a row).

    Greedy, in order: a row is closed by the picture that takes it to the target, unless the
    row without that picture is closer to it (the picture then starts the next row)."""
    if row_aspect <= 0:
        raise ValueError(f"row_aspect must be positive, not {row_aspect}")
    rows: list[Row] = []
    start, total = 0, 0.0
    for i, aspect in enumerate(aspects):
        total += aspect
        if total < row_aspect:
            continue
        without = total - aspect
        if i > start and row_aspect - without < total - row_aspect:
            rows.append(Row(start, i, tuple(aspects[start:i])))
            start, total = i, aspect
            if total < row_aspect:
                continue
        rows.append(Row(start, i + 1, tuple(aspects[start : i + 1])))
        start, total = i + 1, 0.0
    if start < len(aspects):
        rows.append(Row(start, len(aspects), tuple(aspects[start:]), filler=row_aspect - total))
    return rows


def hover_text(item: GridItem, score_label: str = "similarity") -> str:
    """Everything a card says, shown on hover (a tooltip in Markdown): the full path, the
    photo's facts, its score (`score_label`: its similarity to the query on Search) and its
    stack. The one place a card's words are
    built, so a new fact is added here."""
    lines = [f"`` {item.shown} ``", facts_line(item)]
    if item.score is not None:
        match = f" ({item.match})" if item.match else ""  # the score in words
        lines.append(f"{score_label} {item.score:.3f}{match}")
    if item.stacked:
        lines.append(f"cover of a stack of {item.stacked + 1} photos")
    if item.raw:
        lines.append(f"RAW+JPEG: shot with `` {display_path(Path(item.raw).name)} ``")
    return "\n\n".join(lines)


def facts_line(item: GridItem) -> str:
    """Date, resolution, format and size on one line: "2024-05-01 · 4000×3000 · JPEG · 2.1 MB"."""
    parts = [item.date.strftime("%Y-%m-%d") + ("" if item.date_is_exif else " (file)")]
    if item.width and item.height:
        parts.append(f"{item.width}×{item.height}")
    if item.format:
        parts.append(item.format)
    parts.append(human_size(item.size))
    return " · ".join(parts)

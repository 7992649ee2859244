"""What the lightbox shows besides the picture: where it is in its grid, and the EXIF facts of
the original, read from the file only when the lightbox opens (one file, not a grid's worth).

A camera RAW is no picture a browser can draw: the lightbox shows it rendered at display size
through the indexer's decoder (indexer/raw_decode.py: the embedded preview when it is large
enough, else a half-size demosaic; the file size and pixel limits kept) and its EXIF facts as
raw_decode reads them from the RAW itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from PIL import ExifTags, Image, UnidentifiedImageError

from vitrieve.indexer.decode import DecodeError, decode_image
from vitrieve.indexer.raw_decode import RAW_FORMAT, raw_exif
from vitrieve.indexer.reader import ReadError, open_real_path, read_file

# Formats every current browser draws from an <img>; anything else (HEIF, TIFF...) is shown as
# its 256 px thumbnail, with the original one click away as a download.
BROWSER_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP", "BMP", "AVIF", "ICO"})

_IFD_TAGS = {
    "Make": "Camera make",
    "Model": "Camera",
    "LensModel": "Lens",
    "DateTimeOriginal": "Taken",
    "ExposureTime": "Exposure",
    "FNumber": "Aperture",
    "ISOSpeedRatings": "ISO",
    "FocalLength": "Focal length",
    "Software": "Software",
    "Artist": "Artist",
}
RAW_DISPLAY_SIZE = 1600  # longest side of a RAW's rendering in the lightbox
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825


@dataclass(frozen=True, slots=True)
class LightboxState:
    """The grid the lightbox was opened from (image ids in grid order) and the one shown."""

    ids: tuple[int, ...]
    position: int
    grid: str  # the key of the grid it came from, so a rerun of another grid cannot steer it

    @classmethod
    def opened(cls, ids: Sequence[int], position: int, grid: str) -> LightboxState:
        if not 0 <= position < len(ids):
            raise IndexError(f"position {position} is outside a grid of {len(ids)} images")
        return cls(tuple(ids), position, grid)

    @property
    def image_id(self) -> int:
        return self.ids[self.position]

    @property
    def has_previous(self) -> bool:
        return self.position > 0

    @property
    def has_next(self) -> bool:
        return self.position < len(self.ids) - 1

    def moved(self, delta: int) -> LightboxState:
        """Steps through the grid, stopping at its ends (a photo app does not wrap around)."""
        return replace(self, position=min(len(self.ids) - 1, max(0, self.position + delta)))


STACK_GRID = "stack-"  # the grid of a stack opened from its cover's count: "stack-<id>"


def stack_grid(stack_id: int) -> str:
    return f"{STACK_GRID}{stack_id}"


def stack_of_grid(grid: str) -> int | None:
    """The stack a lightbox is stepping through, when it was opened on one."""
    rest = grid.removeprefix(STACK_GRID)
    return int(rest) if rest != grid and rest.isdigit() else None


def browser_can_show(fmt: str | None) -> bool:
    return (fmt or "").upper() in BROWSER_FORMATS


def exif_facts(path: Path) -> list[tuple[str, str]]:
    """Camera, exposure, lens, date and GPS position from the file's EXIF, as (label, value)
    pairs in a fixed order; [] when the file has none or cannot be read (the lightbox says so
    rather than failing: the picture itself is still worth showing). `path` is the resolved
    path `servable_path` approved: it is opened without following any link (a file or folder
    swapped for one since is not read)."""
    try:
        with os.fdopen(open_real_path(path), "rb") as fh, Image.open(fh) as im:
            exif = im.getexif()
    except (ReadError, OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return []
    return _facts_of(exif)


@dataclass(frozen=True, slots=True)
class RawView:
    """A camera RAW as the lightbox shows it: its rendering (None when LibRaw or the limits
    refuse it, ``why`` saying so) and the facts of its own EXIF."""

    picture: Image.Image | None
    facts: list[tuple[str, str]]
    why: str = ""


def is_raw(fmt: str | None) -> bool:
    return fmt == RAW_FORMAT


def raw_view(path: Path, *, max_file_size: int, max_pixels: int) -> RawView:
    """``path`` (approved by `servable_path`, read without following links, at most
    ``max_file_size`` bytes) rendered to at most RAW_DISPLAY_SIZE a side, upright."""
    try:
        data = read_file(path, max_size=max_file_size, root=Path(path.anchor or "/"))
    except ReadError as exc:
        return RawView(None, [], exc.reason)
    facts = _facts_of(raw_exif(data))
    try:
        picture = decode_image(
            data, target_size=RAW_DISPLAY_SIZE // 2, source=path.name, max_pixels=max_pixels
        ).image
    except DecodeError as exc:
        return RawView(None, facts, exc.reason)
    picture.thumbnail((RAW_DISPLAY_SIZE, RAW_DISPLAY_SIZE))
    return RawView(picture, facts)


def _facts_of(exif: Image.Exif) -> list[tuple[str, str]]:
    tags: dict[str, object] = {ExifTags.TAGS.get(k, str(k)): v for k, v in exif.items()}
    try:
        tags |= {ExifTags.TAGS.get(k, str(k)): v for k, v in exif.get_ifd(_EXIF_IFD).items()}
        gps = {ExifTags.GPSTAGS.get(k, str(k)): v for k, v in exif.get_ifd(_GPS_IFD).items()}
    except (KeyError, ValueError, TypeError):
        gps = {}
    facts = [(label, _shown(name, tags[name])) for name, label in _IFD_TAGS.items() if name in tags]
    facts = [(label, value) for label, value in facts if value]
    position = _gps_position(gps)
    if position:
        facts.append(("GPS", position))
    return facts


def _shown(name: str, value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if name == "ExposureTime":
        f = _fraction(value)
        if f is None:
            return ""
        return f"1/{round(1 / f)} s" if 0 < f < 1 else f"{float(f):g} s"
    if name == "FNumber":
        f = _fraction(value)
        return f"f/{float(f):.1f}" if f else ""
    if name == "FocalLength":
        f = _fraction(value)
        return f"{float(f):g} mm" if f else ""
    if isinstance(value, tuple):
        value = ", ".join(map(str, value))
    return str(value).strip("\x00 ").strip()


def _fraction(value: object) -> Fraction | None:
    try:
        return Fraction(str(value)) if not isinstance(value, float) else Fraction(value)
    except (ValueError, ZeroDivisionError):
        try:
            return Fraction(float(value)).limit_denominator(100_000)  # type: ignore[arg-type]
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return None


def _gps_position(gps: dict[str, object]) -> str:
    try:
        lat = _degrees(gps["GPSLatitude"], gps.get("GPSLatitudeRef", "N"))
        lon = _degrees(gps["GPSLongitude"], gps.get("GPSLongitudeRef", "E"))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return ""
    return f"{lat:.5f}, {lon:.5f}"


def _degrees(dms: object, ref: object) -> float:
    d, m, s = (float(x) for x in dms)  # type: ignore[attr-defined]
    value = d + m / 60 + s / 3600
    ref = ref.decode() if isinstance(ref, bytes) else str(ref)
    return -value if ref.strip().upper() in ("S", "W") else value

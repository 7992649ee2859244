"""Which member of a duplicate group to keep, and why, in words (docs/DUPLICATES.md).

Rules, in order, the first that tells two images apart decides:
1. highest resolution (width x height): a smaller copy lost pixels;
2. camera EXIF: the file that carries the camera (EXIF Make/Model) and capture time. Exports
   and conversions usually drop EXIF, so it marks the camera's own file; this is what keeps a
   camera JPEG over a PNG made from it;
3. original encoding: a file that shows it was re-encoded (EXIF Software names an editor, or a
   lossless file carries a JPEG's 8x8 block grid: it was a JPEG before) comes after one that
   does not; then the least lossy encoding (lossless, then JPEG by its estimated quality);
4. larger image data (of two encodings of one picture, the larger usually kept more detail):
   the bytes of the encoded picture, metadata not counted (indexer/image_data.py), so a copy
   padded with EXIF, XMP or a thumbnail does not win; the file size while that is unknown;
5. oldest: capture time (images with one first), then modification time, then lowest id.
Unknown facts (NULL: an image ingested before the facts existed) count as absent.
Members of a burst (`series`) are chosen by their shot score instead: see series.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vitrieve.indexer.catalog import ImageSummary, ShowsImage
from vitrieve.indexer.photo_facts import UNKNOWN_FACTS, PhotoFacts

# Loss of an encoding when nothing better is known; lower is less lossy. JPEGs with an
# estimated quality use 100 - quality instead. Lossless formats hold what the source had.
FORMAT_PREFERENCE: dict[str, int] = {
    "RAW": 0,  # camera RAW (indexer/raw_decode.py): the sensor's own data
    "TIFF": 0,
    "PNG": 0,
    "BMP": 0,
    "HEIF": 10,  # phones' own format; quality is not in the header
    "JPEG": 15,  # a JPEG whose tables did not match the IJG family
    "MPO": 15,
    # Modern lossy formats, after a camera's HEIF/JPEG and before WebP: next to a JPEG of the
    # same photo, an AVIF or a JPEG XL is nearly always made from it (a web export, an archive
    # transcode; JPEG XL's lossless recompression holds the JPEG's pixels, not more), and
    # cameras rarely write either. Quality is not in their headers (indexer/photo_facts.py).
    "AVIF": 20,
    "JXL": 20,
    "WEBP": 25,  # usually a web export
    "GIF": 50,  # 256 colours
}
_UNKNOWN_FORMAT = 60
REENCODE_BLOCKINESS = 1.15  # photo_facts._blockiness: ~1.0 never-JPEG, >= 1.2 from JPEG q<=80
# EXIF Software values of editors and converters (lowercase substrings). Camera firmware
# writes a version ("Ver.1.0", "1.2.3") or the phone's OS, which are not on this list.
EDITORS = (
    "photoshop",
    "lightroom",
    "gimp",
    "paint.net",
    "snapseed",
    "picasa",
    "darktable",
    "rawtherapee",
    "capture one",
    "affinity",
    "pixelmator",
    "imagemagick",
    "graphicsmagick",
    "luminar",
    "acdsee",
    "irfanview",
    "xnview",
    "digikam",
    "shotwell",
    "photoscape",
    "canva",
    "skylum",
    "on1 ",
    "dxo",
)


@dataclass(frozen=True, slots=True)
class ImageFacts(ShowsImage):
    """What the keeper rule compares: the image (catalog summary) and its photo facts."""

    image: ImageSummary
    photo: PhotoFacts = UNKNOWN_FACTS

    def same_pixels(self, other: ImageFacts) -> bool:
        a, b = self.image, other.image
        return bool(
            (a.content_hash and a.content_hash == b.content_hash)
            or (a.pixel_hash and a.pixel_hash == b.pixel_hash)
        )

    @property
    def pixels(self) -> int:
        return self.image.pixels


def image_bytes(f: ImageFacts) -> int:
    """What the size rule compares: the image data, or the whole file while that is unknown."""
    return f.size if f.photo.data_size is None else f.photo.data_size


def _bigger(k: ImageFacts, r: ImageFacts) -> str:
    kd, rd = k.photo.data_size, r.photo.data_size
    if kd is None or rd is None:
        return f"largest file ({k.size:,} vs {r.size:,} bytes)"
    return f"larger image data ({kd:,} vs {rd:,} bytes)"


def camera_exif(f: ImageFacts) -> int:
    """How much of the camera's EXIF the file carries: camera (make/model), capture time."""
    return int(f.photo.camera is not None) + int(f.captured_at is not None)


def reencode_sign(f: ImageFacts) -> str | None:
    """Why the file looks re-encoded, or None when nothing says so."""
    software = (f.photo.software or "").lower()
    editor = next((e for e in EDITORS if e in software), None)
    if editor is not None:
        return f"saved by {f.photo.software}"
    if f.photo.blockiness is not None and f.photo.blockiness >= REENCODE_BLOCKINESS:
        return f"a {f.format or 'lossless file'} showing a JPEG's 8x8 blocks"
    return None


def loss(f: ImageFacts) -> int:
    fmt = (f.format or "").upper()
    if fmt in ("JPEG", "MPO") and f.photo.jpeg_quality is not None:
        return 100 - f.photo.jpeg_quality
    return FORMAT_PREFERENCE.get(fmt, _UNKNOWN_FORMAT)


def _encoding(f: ImageFacts) -> str:
    fmt = f.format or "unknown format"
    if fmt in ("JPEG", "MPO") and f.photo.jpeg_quality is not None:
        return f"{fmt} q{f.photo.jpeg_quality}"
    return fmt


def _size(f: ImageFacts) -> str:
    return f"{f.width or '?'}x{f.height or '?'}"


def _metadata(f: ImageFacts) -> str:
    parts = [p for p in (f.photo.camera, f.captured_at and f"taken {f.captured_at}") if p]
    return ", ".join(str(p) for p in parts)


# (sort key, words given the keeper and the runner-up): KEEPER_RULES order is the rule order.
Rule = tuple[Callable[[ImageFacts], Any], Callable[[ImageFacts, ImageFacts], str]]
KEEPER_RULES: tuple[Rule, ...] = (
    (
        lambda f: -f.pixels,
        lambda k, r: f"highest resolution ({_size(k)} vs {_size(r)})",
    ),
    (
        lambda f: -camera_exif(f),
        lambda k, r: (
            f"has the camera's EXIF ({_metadata(k)}); the runner-up has " + (_metadata(r) or "none")
        ),
    ),
    (
        lambda f: reencode_sign(f) is not None,
        lambda k, r: f"original encoding (the runner-up is a re-encode: {reencode_sign(r)})",
    ),
    (
        loss,
        lambda k, r: f"least lossy encoding ({_encoding(k)} vs {_encoding(r)})",
    ),
    (lambda f: -image_bytes(f), _bigger),
    (
        lambda f: f.captured_at is None,
        lambda k, r: "has a capture date",
    ),
    (
        lambda f: f.captured_at or datetime.min,
        lambda k, r: f"oldest capture ({k.captured_at} vs {r.captured_at})",
    ),
    (lambda f: f.image.mtime_ns, lambda k, r: "oldest file (modification time)"),
    (lambda f: f.image_id, lambda k, r: "lowest id (nothing else told them apart)"),
)


def keeper_rank(f: ImageFacts) -> tuple:
    """Sort key: the first image in this order is the one to keep."""
    return tuple(key(f) for key, _ in KEEPER_RULES)


def keeper_reason(best: ImageFacts, members: Sequence[ImageFacts], *, chosen: bool) -> str:
    """The first keeper rule on which the keeper beats the runner-up, in words."""
    if chosen:
        return "you chose it (vitrieve dups keep)"
    rivals = [m for m in members if m.image_id != best.image_id]
    if not rivals:
        return ""
    runner_up = min(rivals, key=keeper_rank)
    for key, words in KEEPER_RULES:
        if key(best) != key(runner_up):
            return words(best, runner_up)
    return KEEPER_RULES[-1][1](best, runner_up)

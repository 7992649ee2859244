"""Facts about a photo that choosing a duplicate keeper needs, taken while it is decoded anyway.

From the file's header and EXIF (no pixels): the camera (Make + Model), whether it has GPS, the
Software that last wrote it, for JPEGs the IJG-equivalent quality of its quantisation tables,
and from the file's bytes the size of its image data without metadata (image_data.py). From
the decoded pixels, on a ~512 px grayscale copy (a few ms): a sharpness score (variance of the
Laplacian), an exposure score (clipped highlights/shadows and distance of
the mean from mid-grey) and, for lossless files decoded at full size, the strength of an 8x8
block grid (a PNG or TIFF made from a JPEG still shows the JPEG's blocks).

Sharpness depends on content and scale, so it compares shots of one burst only (same camera,
same resolution, same decode path): that is all the keeper rule uses it for. The CPU path
(`decode`) and the GPU path (`gpu_pipeline`) both call `exif_facts` and `shot_scores`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from PIL import Image

from vitrieve.indexer.image_data import image_data_size

SCORE_SIDE = 512  # long side of the grayscale the scores are measured on
_GRID_CROP = 1024  # the block-grid check looks at the top-left 1024x1024 at full size
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_MAKE, _MODEL, _SOFTWARE = 0x010F, 0x0110, 0x0131
_CAMERA_LEN, _SOFTWARE_LEN = 128, 64
# ITU T.81 Annex K luminance table; libjpeg scales it by quality. Sums are order-free
# (Pillow may list a table in zigzag or natural order).
_IJG_LUMA = np.array(
    [
        16,
        11,
        10,
        16,
        24,
        40,
        51,
        61,
        12,
        12,
        14,
        19,
        26,
        58,
        60,
        55,
        14,
        13,
        16,
        24,
        40,
        57,
        69,
        56,
        14,
        17,
        22,
        29,
        51,
        87,
        80,
        62,
        18,
        22,
        37,
        56,
        68,
        109,
        103,
        77,
        24,
        35,
        55,
        64,
        81,
        104,
        113,
        92,
        49,
        64,
        78,
        87,
        103,
        121,
        120,
        101,
        72,
        92,
        95,
        98,
        112,
        100,
        103,
        99,
    ],
    np.float64,
)


@dataclass(frozen=True, slots=True)
class ExifFacts:
    camera: str | None  # "Make Model", e.g. "Canon Canon EOS R5" -> "Canon EOS R5"
    has_gps: bool
    software: str | None  # EXIF Software: the camera firmware, or the editor that re-saved it
    jpeg_quality: int | None  # 1..100, IJG scale; None for other formats or odd tables
    data_size: int | None = None  # bytes of encoded image data, metadata not counted


@dataclass(frozen=True, slots=True)
class ShotScores:
    sharpness: float  # variance of the Laplacian at SCORE_SIDE; higher is sharper
    exposure: float  # 0..1, 1 = nothing clipped and mean at mid-grey
    blockiness: float | None  # 8x8 grid strength (1.0 = none); None unless lossless, full size


NO_EXIF = ExifFacts(None, False, None, None)


@dataclass(frozen=True, slots=True)
class PhotoFacts:
    """The keeper facts of one image, each stored in the catalog column of the same name; None:
    unknown (an image ingested before the facts existed). The one spelling of the list: the
    writer, the backfill and the duplicate finder read it from `FACT_NAMES`, so a new fact is a
    field here, a column in tables/catalog.py and where `of` measures it."""

    camera: str | None = None
    has_gps: bool | None = None
    software: str | None = None
    jpeg_quality: int | None = None
    sharpness: float | None = None
    exposure: float | None = None
    blockiness: float | None = None
    data_size: int | None = None  # bytes of image data without metadata (indexer.image_data)

    @classmethod
    def of(cls, exif: ExifFacts, scores: ShotScores | None) -> PhotoFacts:
        """What a decode measured (both paths: `decode` and `gpu_pipeline`)."""
        measured = {} if scores is None else _values(scores)
        return cls(**(_values(exif) | measured))

    def row(self) -> dict[str, object]:
        """The catalog columns these facts are stored in (writer, backfill)."""
        return _values(self)


def _values(value: ExifFacts | ShotScores | PhotoFacts) -> dict:
    return {f.name: getattr(value, f.name) for f in fields(value)}


FACT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(PhotoFacts))
UNKNOWN_FACTS = PhotoFacts()


def exif_facts(im: Image.Image, exif: Image.Exif, data: bytes | None = None) -> ExifFacts:
    """Never raises: broken metadata means unknown facts, not a failed image. ``data``: the
    whole file's bytes, for the size of its image data (unknown without)."""
    try:
        camera = _camera(exif.get(_MAKE), exif.get(_MODEL))
    except Exception:
        camera = None
    try:
        has_gps = bool(exif.get_ifd(_GPS_IFD))
    except Exception:
        has_gps = False
    try:
        software = _text(exif.get(_SOFTWARE), _SOFTWARE_LEN)
    except Exception:
        software = None
    try:
        data_size = None if data is None else image_data_size(data, im.format, im.info)
    except Exception:
        data_size = None
    return ExifFacts(camera, has_gps, software, jpeg_quality(im), data_size)


def _text(raw: object, limit: int) -> str | None:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str):
        return None
    text = " ".join(raw.replace("\x00", " ").split())
    return text[:limit] or None


def _camera(make: object, model: object) -> str | None:
    mk, md = _text(make, _CAMERA_LEN), _text(model, _CAMERA_LEN)
    if mk and md and md.lower().startswith(mk.split()[0].lower()):
        mk = None  # "Canon" + "Canon EOS R5": the model already says the make
    joined = " ".join(p for p in (mk, md) if p)
    return joined[:_CAMERA_LEN] or None


def _ijg_table_sums() -> np.ndarray:
    """Sum of libjpeg's luminance table at each quality 1..100 (index q - 1)."""
    sums = []
    for q in range(1, 101):
        scale = 5000 / q if q < 50 else 200 - 2 * q
        sums.append(np.clip(np.floor((_IJG_LUMA * scale + 50) / 100), 1, 255).sum())
    return np.asarray(sums)


_IJG_SUMS = _ijg_table_sums()


def jpeg_quality(im: Image.Image) -> int | None:
    """The libjpeg quality whose scaled standard luminance table is closest to the file's.

    Cameras use their own tables, so for them this is an equivalent, not what was set; it still
    orders re-saves of one picture (a q70 re-save of a camera JPEG has coarser tables)."""
    tables = getattr(im, "quantization", None)
    if not tables or 0 not in tables or len(tables[0]) != 64:
        return None
    actual = float(np.sum(np.asarray(tables[0], np.float64)))
    return int(np.argmin(np.abs(_IJG_SUMS - actual))) + 1


def shot_scores(rgb: Image.Image, *, full_size: bool, lossless: bool) -> ShotScores:
    """Scores of a decoded RGB image; ``full_size``: not reduced by draft decoding or shrink.

    Grayscale first, so the resize works on one channel (~2.5 ms for a draft-decoded JPEG);
    the block grid is looked for on a top-left crop, where a JPEG's grid starts."""
    grid = None
    if full_size and lossless:
        crop = (0, 0, min(rgb.width, _GRID_CROP), min(rgb.height, _GRID_CROP))
        grid = _blockiness(rgb.crop(crop).convert("L"))
    small = rgb.convert("L")  # one channel to resize, not three
    factor = score_reduction(small.width, small.height)
    if factor > 1:
        small = small.reduce(factor)  # integer box reduction: the fast part of the way
    if max(small.size) > SCORE_SIDE:
        small = small.resize(score_size(small.width, small.height), Image.Resampling.BILINEAR)
    return scores_of_gray(np.asarray(small), grid)


def score_reduction(width: int, height: int) -> int:
    """Integer box reduction before the last resize to SCORE_SIDE: only for images over 4x it
    (a 12 MP PNG), so a JPEG's draft decode is resized in one step, as on the GPU path."""
    factor = max(width, height) // SCORE_SIDE
    return factor if factor >= 4 else 1


def score_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, SCORE_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def scores_of_gray(gray: np.ndarray, blockiness: float | None = None) -> ShotScores:
    """Sharpness and exposure of a [H, W] grayscale (0..255) already at about SCORE_SIDE."""
    levels = np.clip(np.rint(gray), 0, 255).astype(np.uint8) if gray.dtype != np.uint8 else gray
    a = levels.astype(np.float32)
    if a.shape[0] < 3 or a.shape[1] < 3:
        sharp = 0.0
    else:
        lap = a[:-2, 1:-1] + a[2:, 1:-1]
        lap += a[1:-1, :-2]
        lap += a[1:-1, 2:]
        lap -= 4.0 * a[1:-1, 1:-1]
        sharp = float(lap.var(dtype=np.float64))
    hist = np.bincount(levels.ravel(), minlength=256)
    n = max(1, int(hist.sum()))
    clipped = float(hist[:3].sum() + hist[253:].sum()) / n
    mean = float(hist @ np.arange(256)) / n
    off_mid = abs(mean - 127.5) / 127.5
    exposure = min(1.0, max(0.0, 1.0 - clipped - 0.5 * off_mid))
    return ShotScores(round(sharp, 3), round(exposure, 4), blockiness)


def _blockiness(gray: Image.Image) -> float | None:
    """How much stronger pixel steps are on one 8-px phase than on average (either axis).

    ~1.0 for a picture never JPEG-compressed; a PNG saved from a JPEG at usual qualities shows
    1.2 and more. Phase-free, so a crop or flip of a JPEG-born image still shows its grid."""
    a = np.asarray(gray)
    if a.shape[0] < 64 or a.shape[1] < 64:
        return None
    a = a.astype(np.float32)
    ratios = []
    for steps in (np.abs(np.diff(a, axis=1)).mean(axis=0), np.abs(np.diff(a, axis=0)).mean(1)):
        n = len(steps) // 8 * 8
        mean = float(steps[:n].mean())
        if mean < 1e-3:
            return None  # a flat image has no grid to see
        ratios.append(float(steps[:n].reshape(-1, 8).mean(axis=0).max()) / mean)
    return round(min(ratios), 4)

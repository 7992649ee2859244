"""The second reader of TIFFs: tifffile (with imagecodecs' codecs), for the TIFFs Pillow refuses.

Archives and science hold TIFFs Pillow cannot open: planar-configuration float RGB (Pillow 13
refuses scikit-image's own ``multipage_rgb.tif`` as if it were corrupt), 16/32/64-bit float
samples, more than four samples per pixel, pyramids of tiled levels. tifffile reads all of them
(imagecodecs brings LZW, deflate, JPEG-in-TIFF, zstd and the rarer codecs), so decode.py asks it
before calling a TIFF broken, and when it fails too, the reason says what each reader said.

What is read: the first image of the file (the first page of a multi-page stack), and of a
pyramid the smallest level whose short side still has twice the model's input (like a JPEG
draft; the full level when none does). The pixel limit is checked on the level's header, before
any pixel is decoded, and a level over ``limits.LARGE_PIXELS`` decodes under the same
process-wide gate as Pillow's large images. Samples become 8-bit RGB the way a viewer shows
them: the first three samples of an RGB pixel (extra samples such as alpha or infrared are
dropped), gray repeated, palettes looked up, CMYK converted, and deep or float values scaled
from their declared or observed range (``to_uint8``).
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

import numpy as np
import tifffile
from PIL import Image

from vitrieve.indexer.limits import TooManyPixels, large_decode, shrink, too_many_pixels

FORMAT = "TIFF"

# Everything tifffile and imagecodecs are known to raise on malformed or exotic input.
_READER_FAILURES: tuple[type[BaseException], ...] = (
    tifffile.TiffFileError,
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ZeroDivisionError,
    OverflowError,
    MemoryError,
)
_PHOTOMETRIC = tifffile.PHOTOMETRIC


class TiffUnreadable(Exception):
    """tifffile could not read the file either; ``reason`` is its words, for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TiffPicture:
    """The picture tifffile read: 8-bit RGB, at most about twice the model's input when it was
    large, not yet turned upright. ``width``/``height``: the full image's, as stored."""

    image: Image.Image
    width: int
    height: int
    exif: Image.Exif  # the file's tags: orientation, capture time, camera (``exif_of``)
    full_size: bool  # ``image`` has every pixel of the full image (for the sharpness measure)
    lossless: bool  # no JPEG/WebP/lossy JPEG XL compression


_LOSSY = frozenset({"JPEG", "OJPEG", "WEBP", "JPEGXR_NDPI", "JPEG_2000_LOSSY", "JPEGXL"})


def read_tiff(data: bytes, *, target_size: int, max_pixels: int) -> TiffPicture:
    """The first image of a TIFF/BigTIFF as RGB; TooManyPixels over ``max_pixels``,
    TiffUnreadable for anything else that goes wrong."""
    try:
        with tifffile.TiffFile(BytesIO(data)) as tif:
            return _read(tif, data, target_size, max_pixels)
    except TooManyPixels:
        raise
    except _READER_FAILURES as exc:
        raise TiffUnreadable(_describe(exc)) from exc


def _read(tif: tifffile.TiffFile, data: bytes, target_size: int, max_pixels: int) -> TiffPicture:
    if not tif.series:
        raise TiffUnreadable("no image in the file")
    levels = tif.series[0].levels
    full = _first_page(levels[0])
    width, height = int(full.imagewidth), int(full.imagelength)
    page = _draft_level(levels, target_size) or full
    pixels = int(page.imagewidth) * int(page.imagelength) * max(1, int(page.imagedepth))
    if pixels > max_pixels:  # from the header: nothing is decoded yet
        raise TooManyPixels(too_many_pixels(pixels, max_pixels, f"{width}x{height}"))
    with large_decode(pixels):
        values = _yxs(page.asarray(), str(page.axes))
        rgb = shrink(Image.fromarray(_to_rgb(values, page)), target_size)
    return TiffPicture(
        rgb,
        width,
        height,
        exif_of(data, full),
        full_size=page is full and rgb.size == (width, height),
        lossless=_name(tifffile.COMPRESSION, page.compression) not in _LOSSY,
    )


def _first_page(series: tifffile.TiffPageSeries) -> tifffile.TiffPage:
    page = series.pages[0]
    if isinstance(page, tifffile.TiffFrame):  # a page sharing its first page's tags
        page = page.keyframe
    if page is None:
        raise TiffUnreadable("the first page of the image is missing")
    return page


def _draft_level(
    levels: list[tifffile.TiffPageSeries], target_size: int
) -> tifffile.TiffPage | None:
    """The smallest pyramid level still at least twice the model's input, if any."""
    fitting = [
        _first_page(level)
        for level in levels[1:]
        if min(_first_page(level).imagewidth, _first_page(level).imagelength) >= 2 * target_size
    ]
    return min(fitting, key=lambda page: page.imagewidth * page.imagelength, default=None)


def _yxs(values: np.ndarray, axes: str) -> np.ndarray:
    """The page's samples as rows x columns x samples: any other axis (a depth, a stack of
    images) is cut to its first plane, and planar 'SYX' data is transposed."""
    if values.ndim != len(axes):  # tifffile squeezed length-1 axes: restore them
        values = values.reshape(values.shape + (1,) * (len(axes) - values.ndim))
    for axis in [a for a in axes if a not in "YXS"]:
        values = np.take(values, 0, axis=axes.index(axis))
        axes = axes.replace(axis, "")
    if "S" not in axes:
        values, axes = values[..., np.newaxis], axes + "S"
    return np.transpose(values, [axes.index(a) for a in "YXS"])


def _to_rgb(values: np.ndarray, page: tifffile.TiffPage) -> np.ndarray:
    photometric = page.photometric
    samples = values.shape[2]
    if photometric == _PHOTOMETRIC.PALETTE and page.colormap is not None:
        table = to_uint8(np.asarray(page.colormap), 16)  # 3 x 2**bits, 16-bit entries
        index = np.clip(values[..., 0].astype(np.int64), 0, table.shape[1] - 1)
        return np.ascontiguousarray(table[:, index].transpose(1, 2, 0))
    if photometric == _PHOTOMETRIC.SEPARATED and samples >= 4:
        cmyk = to_uint8(values[..., :4], int(page.bitspersample))
        return np.asarray(Image.fromarray(np.ascontiguousarray(cmyk), "CMYK").convert("RGB"))
    if photometric in (_PHOTOMETRIC.RGB, _PHOTOMETRIC.YCBCR) and samples >= 3:
        return np.ascontiguousarray(to_uint8(values[..., :3], int(page.bitspersample)))
    if photometric in (_PHOTOMETRIC.MINISBLACK, _PHOTOMETRIC.MINISWHITE):
        gray = to_uint8(values[..., 0], int(page.bitspersample))
        if photometric == _PHOTOMETRIC.MINISWHITE:
            gray = 255 - gray
        return np.repeat(gray[..., np.newaxis], 3, axis=2)
    kind = _name(_PHOTOMETRIC, photometric)
    raise TiffUnreadable(f"{samples}-sample {kind} pixels cannot be shown as RGB")


def to_uint8(values: np.ndarray, bits: int) -> np.ndarray:
    """Samples as 0..255 without clipping what a viewer would show.

    Integers have a declared range: ``bits`` per sample (1-bit is 0/1, 16-bit is 0..65535).
    Except for 16 bits and below, where that range is the data's, the range is inferred from
    the data like decode.py's deep grayscale: floats within 0..1 are scaled by 255, values
    within 0..255 kept, integers within 0..65535 read as 16-bit, anything else stretched
    min..max. NaN and infinities count as 0.
    """
    if values.dtype == np.bool_:
        return values.astype(np.uint8) * 255
    if values.dtype == np.uint8 and bits >= 8:
        return values
    if values.dtype.kind == "c":
        raise TiffUnreadable("complex samples cannot be shown as an image")
    if values.dtype.kind in "ui" and 1 <= bits <= 16 and values.dtype.itemsize <= 2:
        top = float((1 << bits) - 1) if values.dtype.kind == "u" else None
    else:
        top = None
    work = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if top is not None:
        scaled = work * (255.0 / top)
    else:
        lo, hi = (float(work.min()), float(work.max())) if work.size else (0.0, 0.0)
        if values.dtype.kind == "f" and lo >= 0.0 and hi <= 1.0:
            scaled = work * 255.0
        elif lo >= 0.0 and hi <= 255.0:
            scaled = work
        elif values.dtype.kind in "ui" and lo >= 0.0 and hi <= 65535.0:
            scaled = work / 257.0
        else:
            scaled = (work - lo) * (255.0 / (hi - lo))  # hi > lo: range exceeds 0..255
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def exif_of(data: bytes, page: tifffile.TiffPage) -> Image.Exif:
    """The file's own tags as Pillow's Exif (orientation, capture time, camera, GPS), so
    decode.py reads them as it reads any photo's: a TIFF header is what EXIF is made of. Pillow
    cannot walk a BigTIFF's directory; then the first page's plain tags come from tifffile."""
    exif = Image.Exif()
    try:
        exif.load(data)
    except Exception:  # broken or unusual metadata must not cost us the pixels
        exif = Image.Exif()
    if len(exif):
        return exif
    for tag in page.tags.values():
        if tag.code in _PLAIN_TAGS and isinstance(tag.value, int | str):
            exif[tag.code] = tag.value
    return exif


# Orientation, DateTime, Make, Model, Software: what decode.py and photo_facts read at the top.
_PLAIN_TAGS = frozenset({0x0112, 0x0132, 0x010F, 0x0110, 0x0131})


def _name(kind: type[tifffile.PHOTOMETRIC | tifffile.COMPRESSION], value: int) -> str:
    """An enum value's name, or its number when this tifffile does not know it."""
    try:
        return kind(value).name
    except ValueError:
        return str(value)


def _describe(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__

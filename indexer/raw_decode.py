"""Camera RAW files (DNG, CR2, CR3, NEF, ARW, ORF, RW2, RAF, PEF, SRW, ...) through LibRaw (rawpy).

Why a module of its own: a RAW is not a picture but sensor data, and rendering all of it (a full
demosaic of a 45 MP sensor) costs seconds where the model needs 224 px. Almost every camera
embeds a rendered JPEG preview, often full size or 1.5-2k px: when it keeps at least twice the
model's input on its short side (what JPEG draft decoding keeps too) and shows the sensor's
aspect ratio, that preview is the picture. Otherwise LibRaw demosaics at half size (one pixel
per 2x2 Bayer cell, no interpolation: the cheap way to a faithful small rendering).

The sensor's pixels count against ``max_pixels`` before anything is unpacked, and a sensor over
``limits.LARGE_PIXELS`` takes the large-decode gate, as a big PNG does. The facts the keeper and
series rules need (camera, capture time, GPS, orientation) come from the RAW's own TIFF/EXIF
structure (every format but CR3 and RAF is a TIFF underneath; CR3 has TIFFs in its CMT boxes),
else from the preview's EXIF.
``decode.decode_image`` routes a file here by its name or by a RAW's own signature.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from io import BytesIO
from pathlib import PurePath
from typing import Literal

import numpy as np
import rawpy
from PIL import Image

from vitrieve.core.config import CAMERA_RAW_EXTENSIONS
from vitrieve.indexer.limits import TooManyPixels, large_decode, too_many_pixels

RAW_FORMAT = "RAW"
"""The format recorded for every camera RAW (the extension says which camera's)."""

PREVIEW_ASPECT_TOLERANCE = 0.05  # a preview whose aspect differs more is cropped or letterboxed

# LibRaw's flip (dcraw: bit 1 mirror left-right, bit 2 upside down, bit 4 transpose) as an
# EXIF orientation, so decode applies it like any photo's.
_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}
_TIFF_HEADERS = (b"II*\x00", b"MM\x00*")
_TIFF_LIKE = (b"IIRO", b"IIRS", b"MMOR", b"IIU\x00")  # ORF and RW2: TIFF with their own magic
_DNG_VERSION = 0xC612
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
# CR3 keeps its EXIF as TIFFs in boxes of the movie header, which leads the file: CMT1 holds
# IFD0 (Make, Model, Orientation), CMT2 the EXIF directory (DateTimeOriginal), CMT4 the GPS one.
_CR3_EXIF_BOXES = ((b"CMT2", _EXIF_IFD), (b"CMT4", _GPS_IFD))
_CR3_HEADER_SPAN = 1 << 20
_ENDIAN = {b"II": "<", b"MM": ">"}


class RawDecodeError(Exception):
    """A RAW LibRaw cannot render; ``reason`` is for the user and quotes LibRaw."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RawPicture:
    """A RAW rendered for the model, not yet turned upright.

    ``image`` is RGB, reduced (preview drafted to ~2x ``target_size``, or a half-size
    demosaic); ``width``/``height`` are the sensor's rendered size before ``orientation``."""

    image: Image.Image
    width: int
    height: int
    orientation: int  # EXIF 1..8, from LibRaw's flip
    exif: Image.Exif  # the RAW's own tags, else its preview's; empty when neither has any
    path: Literal["preview", "demosaic"]


def is_camera_raw(data: bytes, source: str) -> bool:
    """Whether ``data`` goes to LibRaw: a RAW extension in ``source`` (the file's name), or a
    signature only RAWs have (CR3, RAF, ORF, RW2, CR2, a TIFF carrying DNGVersion)."""
    if PurePath(source).suffix.lower() in CAMERA_RAW_EXTENSIONS:
        return True
    if data[4:12] == b"ftypcrx " or data.startswith(b"FUJIFILMCCD-RAW"):
        return True
    if data[:4] in _TIFF_LIKE:
        return True
    if data[:4] in _TIFF_HEADERS:
        return data[8:10] == b"CR" or _dng_version_in_ifd0(data)
    return False


def decode_raw(data: bytes, *, target_size: int, max_pixels: int) -> RawPicture:
    """Render ``data`` (a whole RAW file) for a model of input side ``target_size``.

    Raises TooManyPixels for a sensor over ``max_pixels``, RawDecodeError for anything LibRaw
    cannot read (its reason quoted)."""
    with rawpy.RawPy() as raw:
        try:
            raw.open_buffer(BytesIO(data))
            sizes = raw.sizes
        except rawpy.LibRawError as exc:
            raise RawDecodeError(f"cannot read camera RAW (LibRaw: {_libraw_says(exc)})") from exc
        sensor = sizes.raw_width * sizes.raw_height
        if sensor > max_pixels:
            raise TooManyPixels(
                too_many_pixels(sensor, max_pixels, f"{sizes.raw_width}x{sizes.raw_height}")
            )
        orientation = _FLIP_TO_ORIENTATION.get(sizes.flip, 1)
        preview = _preview(raw, target_size, sizes.width, sizes.height, max_pixels)
        exif = raw_exif(data, preview)
        if preview is not None:
            preview.info = {}  # the preview's metadata (LibRaw adds EXIF) is not the RAW's
            return RawPicture(preview, sizes.width, sizes.height, orientation, exif, "preview")
        with large_decode(sensor):
            try:
                raw.unpack()
                rgb = raw.postprocess(half_size=True, use_camera_wb=True, user_flip=0)
            except rawpy.LibRawError as exc:
                raise RawDecodeError(
                    f"cannot decode camera RAW data (LibRaw: {_libraw_says(exc)})"
                ) from exc
        image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
        factor = min(image.size) // (2 * target_size)
        if factor >= 2:  # keep ~2x the model's input, as the preview's draft does
            image = image.reduce(factor)
        return RawPicture(image, sizes.width, sizes.height, orientation, exif, "demosaic")


def raw_exif(data: bytes, preview: Image.Image | None = None) -> Image.Exif:
    """The RAW's own IFD0 (and its EXIF and GPS IFDs) read as EXIF, else the preview's EXIF.
    Never raises: broken metadata costs facts, not the picture."""
    blob = _TIFF_HEADERS[data[:1] == b"M"] + data[4:] if data[:4] in _TIFF_LIKE else data
    exif = Image.Exif()
    try:
        if blob[:4] in _TIFF_HEADERS:
            exif.load(blob)
        elif data[4:12] == b"ftypcrx ":
            exif = _cr3_exif(data)
    except Exception:
        exif = Image.Exif()
    if len(exif) == 0 and preview is not None:
        try:
            exif = preview.getexif()
        except Exception:
            exif = Image.Exif()
    return exif


def _cr3_exif(data: bytes) -> Image.Exif:
    """A CR3's CMT boxes joined into one EXIF (IFD0 with its EXIF and GPS directories)."""
    exif = _box_tiff(data, b"CMT1")
    if len(exif) == 0:
        return exif
    for box, tag in _CR3_EXIF_BOXES:
        directory = _box_tiff(data, box)
        if len(directory):
            exif[tag] = dict(directory)
    joined = Image.Exif()
    joined.load(exif.tobytes())  # written out and read back: get_ifd then finds both
    return joined


def _box_tiff(data: bytes, box: bytes) -> Image.Exif:
    """The TIFF in the first ISO-BMFF box named ``box`` near the start of ``data``, as EXIF."""
    exif = Image.Exif()
    at = data.find(box, 8, _CR3_HEADER_SPAN)
    if at >= 4:
        (size,) = struct.unpack_from(">I", data, at - 4)
        tiff = data[at + 4 : at - 4 + size]
        if tiff[:4] in _TIFF_HEADERS:
            exif.load(tiff)
    return exif


def _preview(
    raw: rawpy.RawPy, target_size: int, width: int, height: int, max_pixels: int
) -> Image.Image | None:
    """The embedded preview as RGB drafted to ~2x ``target_size``, or None when there is none,
    it is too small for the model, shows another aspect ratio or does not decode."""
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawError, MemoryError):
        return None
    try:
        if isinstance(thumb.data, bytes):  # ThumbFormat.JPEG
            im: Image.Image = Image.open(BytesIO(thumb.data))
            if im.format != "JPEG" or im.width * im.height > max_pixels:
                return None
        else:  # ThumbFormat.BITMAP: RGB pixels LibRaw has already decoded
            im = Image.fromarray(np.asarray(thumb.data, dtype=np.uint8))
        if not _fits(im.width, im.height, target_size, width, height):
            return None
        if im.format == "JPEG":
            im.draft("RGB", (2 * target_size, 2 * target_size))
        im.load()
        # Always a plain copy, ~2x the model's input: the preview's JPEG tables are not the
        # RAW's (their quality must not be recorded as the RAW's).
        return im.convert("RGB")
    except Exception:  # a damaged preview: the sensor data may still be fine
        return None


def _fits(pw: int, ph: int, target_size: int, width: int, height: int) -> bool:
    if min(pw, ph) < 2 * target_size or not (width and height):
        return False
    # Cameras store the preview as the sensor lies, unrotated, like the RAW data.
    return abs(pw / ph - width / height) <= PREVIEW_ASPECT_TOLERANCE * (width / height)


def _libraw_says(exc: BaseException) -> str:
    """LibRaw's message without rawpy's bytes repr (b'...'), or the error's name."""
    arg = exc.args[0] if exc.args else ""
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    said = " ".join(text.split()) or type(exc).__name__
    if isinstance(exc, rawpy.LibRawIOError):  # reading bytes in memory fails only past the end
        said += ": the file ends early (truncated or damaged)"
    return said


def _dng_version_in_ifd0(data: bytes) -> bool:
    """Whether a TIFF's first directory holds DNGVersion: a DNG under any name."""
    endian = _ENDIAN.get(data[:2])
    if endian is None or len(data) < 8:
        return False
    try:
        (offset,) = struct.unpack_from(endian + "I", data, 4)
        (count,) = struct.unpack_from(endian + "H", data, offset)
        for i in range(min(count, 1024)):
            (tag,) = struct.unpack_from(endian + "H", data, offset + 2 + 12 * i)
            if tag == _DNG_VERSION:
                return True
    except struct.error:
        return False
    return False

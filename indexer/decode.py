"""Turn the bytes of one file into an RGB image ready for embedding, or a clear reason why not.

Everything that can go wrong with a user's photo folder (empty files, half-copied JPEGs, text
files named ``.jpg``, decompression bombs, exotic pixel modes) ends here as a ``DecodeError``
whose ``reason`` is shown to the user, so the indexer can record the failure and move on
instead of crashing a worker. What Pillow and libtiff say on the way is part of that reason
(or, for a file that decoded, an INFO log line), never terminal noise (see decode_messages).

The pixel limit is ours (``max_pixels``, from Settings.max_image_pixels), checked on the
header before any pixel is decoded, so real 100-250 MP photos pass while bombs are refused.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

import numpy as np
import pillow_heif
from PIL import Image, UnidentifiedImageError

from vitrieve.indexer.decode_messages import Notes, captured
from vitrieve.indexer.jpeg_xl import JXL_SIGNATURES, JxlRefused, open_jxl
from vitrieve.indexer.limits import (
    DEFAULT_MAX_PIXELS,
    TooManyPixels,
    admit_in_pillow,
    bomb_reason,
    check_pixels,
    large_decode,
    shrink,
)
from vitrieve.indexer.photo_facts import NO_EXIF, ExifFacts, ShotScores, exif_facts, shot_scores
from vitrieve.indexer.raw_decode import RAW_FORMAT, RawDecodeError, decode_raw, is_camera_raw
from vitrieve.indexer.tiff_fallback import TiffUnreadable, read_tiff

log = logging.getLogger(__name__)

# Done once at import: registering is global to Pillow, and HEIC is what phones produce.
pillow_heif.register_heif_opener()

SUPPORTED_FORMATS: frozenset[str] = frozenset(
    {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", "AVIF", "JXL"}
)
"""Pillow format names we index. MPO is how Pillow names multi-picture JPEGs from cameras; AVIF
is Pillow's own (11.2+), JXL needs the optional extra (indexer.jpeg_xl)."""

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
    | {".heic", ".heif", ".hif"}  # the HEIF family, read through pillow_heif
    | {".avif", ".jxl"}
)
"""Lowercase extensions (with the dot) the scanner should pick up."""

# Everything Pillow or its plugins are known to raise on malformed input. UnidentifiedImageError
# is an OSError; the bomb error is handled separately for its reason. Warning: what Pillow says
# about a damaged file, raised when the user runs with `-W error`.
_DECODER_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    Warning,
    SyntaxError,
    ValueError,
    TypeError,
    struct.error,
    EOFError,
    IndexError,
    KeyError,
    ZeroDivisionError,
    NotImplementedError,
    RuntimeError,
)

# Leading bytes of the formats we support, to say "truncated PNG" rather than "not an image"
# when Pillow cannot even parse the header of a file that clearly is one.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"WEBP", 8, "WEBP"),
    (b"BM", 0, "BMP"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"II+\x00", 0, "TIFF"),  # BigTIFF
    (b"MM\x00+", 0, "TIFF"),
    *((magic, 0, "JPEG XL") for magic in JXL_SIGNATURES),
)
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

_ORIENTATION_TAG = 0x0112
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME = 0x0132
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# (strptime format, length of a value in it); the length cuts off subseconds or trailing junk.
_EXIF_DATETIME_FORMATS = (
    ("%Y:%m:%d %H:%M:%S", 19),
    ("%Y-%m-%d %H:%M:%S", 19),
    ("%Y:%m:%d %H:%M", 16),
)
KEPT_IN_LOG = 10  # messages in the log line of a file that decoded despite them


class DecodeError(Exception):
    """A file that cannot become an image.

    ``reason`` is a short, specific sentence meant for humans (it is stored and shown in the
    UI), e.g. 'empty file (0 bytes)' or 'unsupported format: PSD'. ``source`` only decorates
    ``str(err)`` so log lines say which file failed.
    """

    def __init__(self, reason: str, source: str = "") -> None:
        super().__init__(f"{source}: {reason}" if source else reason)
        self.reason = reason
        self.source = source


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """A decoded image plus the facts the index records about the original file.

    ``image`` may be smaller than the file (JPEG draft decoding, or the reduction of an image
    over ``limits.LARGE_PIXELS``), which is why the full, orientation-corrected
    ``width``/``height`` are carried separately.
    """

    image: Image.Image
    width: int
    height: int
    format: str
    captured_at: datetime | None
    exif: ExifFacts = NO_EXIF  # camera, GPS, software, JPEG quality (photo_facts)
    scores: ShotScores | None = None  # sharpness, exposure, block grid; None: not measured


LOSSLESS_FORMATS = frozenset({"PNG", "TIFF", "BMP", "GIF"})


def decode_image(
    data: bytes,
    *,
    target_size: int = 224,
    source: str = "",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> DecodedImage:
    """Decode ``data`` (a whole file's bytes) into an upright RGB image.

    ``target_size`` is the model's input side: large JPEGs are decoded at a reduced scale that
    still leaves at least twice that many pixels per side, which is nearly as good as a full
    decode for a downscale and several times faster (a 150 MP JPEG costs a few MB, not 450).
    Images over ``max_pixels`` are refused before decoding. Raises ``DecodeError`` for any
    bad input, its reason including what Pillow or libtiff said about the file.
    """
    if target_size < 1:
        raise ValueError(f"target_size must be positive, got {target_size}")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    if not data:
        raise DecodeError("empty file (0 bytes)", source)
    admit_in_pillow(max_pixels)
    with captured() as notes:
        try:
            try:
                decoded = _decode(data, target_size, source, max_pixels)
            except DecodeError as refused:
                if _sniff(data) != "TIFF" or is_camera_raw(data, source):  # LibRaw's word stands
                    raise
                decoded = _decode_tiff(data, target_size, source, max_pixels, refused.reason)
        except Image.DecompressionBombError as exc:  # Pillow's own check, inside Image.open
            raise DecodeError(bomb_reason(str(exc), max_pixels), source) from exc
        except TooManyPixels as exc:
            raise DecodeError(exc.reason, source) from exc
        except DecodeError as exc:
            raise DecodeError(_with_notes(exc.reason, notes), source) from exc
    if notes:
        log.info("%s: decoded, but: %s", source or "image", notes.summary(KEPT_IN_LOG))
    return decoded


def _decode(data: bytes, target_size: int, source: str, max_pixels: int) -> DecodedImage:
    if is_camera_raw(data, source):
        return _from_raw(data, target_size, source, max_pixels)
    try:
        im: Image.Image = (  # an ImageFile until transposed
            open_jxl(data, max_pixels) if _sniff(data) == "JPEG XL" else Image.open(BytesIO(data))
        )
    except JxlRefused as exc:
        raise DecodeError(exc.reason, source) from exc
    except UnidentifiedImageError as exc:
        kind = _sniff(data)
        reason = (
            f"truncated or corrupt {kind} data ({len(data)} bytes, header unreadable)"
            if kind
            else "not an image (unrecognised format)"
        )
        raise DecodeError(reason, source) from exc
    except _DECODER_FAILURES as exc:
        kind = _sniff(data) or "image"
        raise DecodeError(f"truncated or corrupt {kind} header: {_describe(exc)}", source) from exc

    fmt = im.format or "unknown"
    if fmt not in SUPPORTED_FORMATS:
        raise DecodeError(f"unsupported format: {fmt}", source)
    check_pixels(im, max_pixels)  # from the header: nothing is decoded yet

    try:
        im.seek(0)  # animated GIF/WebP, multi-page TIFF, MPO: the first frame is the picture
        check_pixels(im, max_pixels)  # a GIF frame may enlarge the logical screen
        full_width, full_height = im.size
        # A progressive JPEG's decoder buffers the whole image's coefficients at any scale.
        held = full_width * full_height if im.info.get("progressive") else 0
        if fmt in ("JPEG", "MPO") and min(im.size) >= 4 * target_size:
            im.draft("RGB", (2 * target_size, 2 * target_size))
    except _DECODER_FAILURES as exc:
        raise DecodeError(f"truncated or corrupt image data: {_describe(exc)}", source) from exc
    with large_decode(max(held, im.width * im.height)):
        try:
            im.load()  # forced here so truncation surfaces now, not later in a resize
        except _DECODER_FAILURES as exc:
            raise DecodeError(f"truncated or corrupt image data: {_describe(exc)}", source) from exc
        try:
            exif = im.getexif()
        except _DECODER_FAILURES:  # broken metadata must not cost us the pixels
            exif = Image.Exif()
        facts = exif_facts(im, exif, data)
        loaded_size = im.size
        orientation = exif_orientation(exif)
        try:
            if orientation in _TRANSPOSE_FOR_ORIENTATION:
                im = im.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])
            rgb = shrink(_to_rgb(im), target_size)  # the full-size image never leaves here
        except _DECODER_FAILURES as exc:
            raise DecodeError(
                f"cannot convert {im.mode} pixels to RGB: {_describe(exc)}", source
            ) from exc
    full_size = loaded_size == (full_width, full_height) and rgb.width * rgb.height == (
        full_width * full_height
    )
    scores = shot_scores(rgb, full_size=full_size, lossless=fmt in LOSSLESS_FORMATS)
    if orientation >= 5:  # these orientations rotate by 90 degrees: sides swap
        full_width, full_height = full_height, full_width
    return DecodedImage(rgb, full_width, full_height, fmt, exif_captured_at(exif), facts, scores)


def _decode_tiff(
    data: bytes, target_size: int, source: str, max_pixels: int, pillow_said: str
) -> DecodedImage:
    """Pillow refused a TIFF: tifffile reads it (indexer.tiff_fallback), or the reason says
    what each of the two readers said."""
    try:
        tiff = read_tiff(data, target_size=target_size, max_pixels=max_pixels)
    except TiffUnreadable as exc:
        raise DecodeError(f"Pillow: {pillow_said}; tifffile: {exc.reason}", source) from exc
    orientation = exif_orientation(tiff.exif)
    rgb = tiff.image
    if orientation in _TRANSPOSE_FOR_ORIENTATION:
        rgb = rgb.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])
    width, height = (tiff.height, tiff.width) if orientation >= 5 else (tiff.width, tiff.height)
    facts = exif_facts(tiff.image, tiff.exif)
    scores = shot_scores(rgb, full_size=tiff.full_size, lossless=tiff.lossless)
    return DecodedImage(rgb, width, height, "TIFF", exif_captured_at(tiff.exif), facts, scores)


def _from_raw(data: bytes, target_size: int, source: str, max_pixels: int) -> DecodedImage:
    """A camera RAW rendered by LibRaw (raw_decode), turned upright like any photo."""
    try:
        raw = decode_raw(data, target_size=target_size, max_pixels=max_pixels)
    except RawDecodeError as exc:
        raise DecodeError(exc.reason, source) from exc
    im = raw.image
    if raw.orientation in _TRANSPOSE_FOR_ORIENTATION:
        im = im.transpose(_TRANSPOSE_FOR_ORIENTATION[raw.orientation])
    size = (raw.height, raw.width) if raw.orientation >= 5 else (raw.width, raw.height)
    facts, taken = exif_facts(im, raw.exif, data), exif_captured_at(raw.exif)
    scores = shot_scores(im, full_size=False, lossless=False)
    return DecodedImage(im, *size, RAW_FORMAT, taken, facts, scores)


def scanned_extensions(raw_extensions: frozenset[str]) -> frozenset[str]:
    """What ingest and the watcher pick up: the image extensions plus the configured RAW ones
    (Settings.raw_extension_set)."""
    return IMAGE_EXTENSIONS | raw_extensions


def _to_rgb(im: Image.Image) -> Image.Image:
    """Bring any Pillow mode to RGB the way a person viewing the file would see it.

    Transparency is composited on white (not dropped to the black hidden under alpha=0, which
    would make logos and screenshots look alike to the model). Deep grayscale is rescaled,
    because Pillow's own convert clips anything above 255 to white.
    """
    mode = im.mode
    if mode == "RGB" and "transparency" not in im.info:
        return im
    if mode in ("I", "F") or mode.startswith("I;16"):
        return _deep_gray_to_rgb(im)
    if mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return im.convert("RGB")  # 1, L, P, CMYK (incl. Adobe-inverted), YCbCr, LAB, HSV, RGBX


def _deep_gray_to_rgb(im: Image.Image) -> Image.Image:
    """Map 16-bit integer, 32-bit integer and float grayscale to 8 bits without clipping.

    ``I;16*`` is by definition 0..65535, so it is divided by 257 (65535 -> 255 exactly). ``I``
    and ``F`` carry no declared range, so we infer one from the data, preferring the
    conventional ranges over stretching so a dark image stays dark: values already within
    0..255 are kept; float data within 0..1 is scaled by 255; integer data within 0..65535 is
    treated like 16-bit (what older Pillow versions opened 16-bit PNGs as); only anything
    else (negative, larger) is stretched min..max. NaN/inf count as black.
    """
    values = np.asarray(im)
    if im.mode.startswith("I;16"):
        scaled = values.astype(np.float32) / 257.0
    else:
        values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if im.mode == "F" and lo >= 0.0 and hi <= 1.0:
            scaled = values * 255.0
        elif lo >= 0.0 and hi <= 255.0:
            scaled = values
        elif im.mode == "I" and lo >= 0.0 and hi <= 65535.0:
            scaled = values / 257.0
        else:
            scaled = (values - lo) * (255.0 / (hi - lo))  # hi > lo: range exceeds 0..255
    gray = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def exif_orientation(exif: Image.Exif) -> int:
    """EXIF orientation 1..8; anything missing or out of range means upright (1)."""
    try:
        value = int(exif.get(_ORIENTATION_TAG, 1))
    except (TypeError, ValueError, OverflowError):
        return 1
    return value if 1 <= value <= 8 else 1


def exif_captured_at(exif: Image.Exif) -> datetime | None:
    """When the photo was taken: DateTimeOriginal, else DateTime (file edit time in cameras).

    Returned naive, as EXIF stores local wall-clock time without a zone. Placeholder values
    like '0000:00:00 00:00:00' and garbage are None, never an error.
    """
    try:
        candidates = [exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL), exif.get(_DATETIME)]
    except _DECODER_FAILURES:
        candidates = [exif.get(_DATETIME)]
    for raw in candidates:
        parsed = _parse_exif_datetime(raw)
        if parsed is not None:
            return parsed
    return None


def _parse_exif_datetime(raw: object) -> datetime | None:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    if not isinstance(raw, str):
        return None
    text = raw.strip("\x00 \t\r\n")
    for fmt, length in _EXIF_DATETIME_FORMATS:
        try:
            return datetime.strptime(text[:length], fmt)
        except ValueError:
            continue
    return None


def _sniff(data: bytes) -> str | None:
    """The supported format ``data`` claims to be by its magic bytes, for failure reasons."""
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    if data[4:8] == b"ftyp" and data[8:12] in _AVIF_BRANDS:
        return "AVIF"
    for magic, offset, name in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return name
    return None


def _with_notes(reason: str, notes: Notes) -> str:
    """The reason, plus what the libraries said while failing (often the actual cause)."""
    return f"{reason}; {notes.summary()}" if notes else reason


def _describe(exc: BaseException) -> str:
    """Pillow's message, or the exception's type when it has none (struct.error, EOFError)."""
    return " ".join(str(exc).split()) or type(exc).__name__

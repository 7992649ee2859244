"""Real camera RAW files for tests: DNGs written by pidng from real photos (a few ms each).

A DNG is the RAW that can be written without a camera: an RGGB Bayer mosaic (12-bit values in
16-bit samples) made from a photo, with the tags LibRaw needs to render it. `dng_bytes` can also
chain a second directory holding a JPEG preview (NewSubfileType 1, compression 7), as cameras
and converters do, and write the EXIF facts the keeper reads from IFD0 (Make, Model, DateTime,
Orientation)."""

from __future__ import annotations

import struct
from io import BytesIO

import numpy as np
from PIL import Image

__all__ = ["dng_bytes", "mosaic"]


def mosaic(rgb: np.ndarray) -> np.ndarray:
    """The RGGB Bayer mosaic a sensor would have recorded of ``rgb`` (HxWx3 uint8), 12-bit."""
    v = rgb.astype(np.uint16) * 16
    out = np.empty(rgb.shape[:2], np.uint16)
    out[0::2, 0::2] = v[0::2, 0::2, 0]
    out[0::2, 1::2] = v[0::2, 1::2, 1]
    out[1::2, 0::2] = v[1::2, 0::2, 1]
    out[1::2, 1::2] = v[1::2, 1::2, 2]
    return out


def dng_bytes(
    rgb: np.ndarray,
    *,
    preview: Image.Image | None = None,
    make: str | None = None,
    model: str | None = None,
    taken: str | None = None,
    orientation: int = 1,
) -> bytes:
    """A DNG of the photo ``rgb`` (even width and height), optionally with a JPEG ``preview``
    and camera EXIF (``taken`` as EXIF writes it: '2021:06:01 10:00:00')."""
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion, PhotometricInterpretation

    raw = mosaic(rgb)
    height, width = raw.shape
    tags = DNGTags()
    for tag, value in (
        (Tag.ImageWidth, width),
        (Tag.ImageLength, height),
        (Tag.TileWidth, width),
        (Tag.TileLength, height),
        (Tag.Orientation, orientation),
        (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
        (Tag.SamplesPerPixel, 1),
        (Tag.BitsPerSample, 16),
        (Tag.CFARepeatPatternDim, [2, 2]),
        (Tag.CFAPattern, CFAPattern.RGGB),
        (Tag.BlackLevel, 0),
        (Tag.WhiteLevel, 4095),
        (Tag.ColorMatrix1, [[int(i % 4 == 0), 1] for i in range(9)]),  # identity
        (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
        (Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]]),
        (Tag.DNGVersion, DNGVersion.V1_4),
        (Tag.DNGBackwardVersion, DNGVersion.V1_2),
    ):
        tags.set(tag, value)
    for tag, text in ((Tag.Make, make), (Tag.Model, model), (Tag.DateTime, taken)):
        if text:
            tags.set(tag, text)
    writer = RAW2DNG()
    writer.options(tags, path="", compress=False)
    data = bytes(writer.convert(raw, filename=""))
    return data if preview is None else _with_preview(data, preview)


def _with_preview(dng: bytes, preview: Image.Image) -> bytes:
    """``dng`` with a second directory, chained after IFD0, holding ``preview`` as a JPEG."""
    jpeg = BytesIO()
    preview.convert("RGB").save(jpeg, "JPEG", quality=90)
    encoded = jpeg.getvalue()
    buf = bytearray(dng)
    (ifd0,) = struct.unpack_from("<I", buf, 4)
    (count,) = struct.unpack_from("<H", buf, ifd0)
    next_ifd = ifd0 + 2 + 12 * count
    buf += b"\x00" * (-len(buf) % 4)
    jpeg_at = len(buf)
    buf += encoded + b"\x00" * (-len(encoded) % 4)
    entries = [  # (tag, type: 3 SHORT / 4 LONG, value), ascending as TIFF requires
        (254, 4, 1),  # NewSubfileType: reduced-resolution copy
        (256, 4, preview.width),
        (257, 4, preview.height),
        (259, 3, 7),  # Compression: JPEG
        (262, 3, 6),  # PhotometricInterpretation: YCbCr
        (273, 4, jpeg_at),  # StripOffsets
        (277, 3, 3),  # SamplesPerPixel
        (278, 4, preview.height),  # RowsPerStrip
        (279, 4, len(encoded)),  # StripByteCounts
    ]
    directory = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        packed = struct.pack("<I", value) if kind == 4 else struct.pack("<HH", value, 0)
        directory += struct.pack("<HHI", tag, kind, 1) + packed
    struct.pack_into("<I", buf, next_ifd, len(buf))
    buf += directory + struct.pack("<I", 0)
    return bytes(buf)

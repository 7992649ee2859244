"""Files in the formats Pillow alone does not read well: TIFFs written by tifffile that Pillow
refuses, scikit-image's planar `multipage_rgb.tif`, 10-bit AVIF written by libavif through
imagecodecs (Pillow's AVIF encoder writes 8 bits only), and JPEG XL."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

MULTIPAGE_RGB = Path(__import__("skimage").__file__).parent / "data" / "multipage_rgb.tif"
"""Two planar-configuration float64 RGB pages of 10x10: Pillow 13 cannot identify it."""


def tiff_bytes(values: np.ndarray, **options: object) -> bytes:
    buf = BytesIO()
    tifffile.imwrite(buf, values, **options)
    return buf.getvalue()


def odd_tiffs(rgb: np.ndarray) -> dict[str, bytes]:
    """The same 8-bit RGB picture as TIFFs Pillow 13 refuses, by what makes each one odd."""
    unit = rgb.astype(np.float32) / 255.0
    five = np.dstack([rgb, rgb[..., :2]]).astype(np.uint16) * 257
    return {
        "planar": tiff_bytes(np.moveaxis(unit, -1, 0), photometric="rgb", planarconfig="separate"),
        "float32": tiff_bytes(unit, photometric="rgb", compression="zstd"),
        "5-sample": tiff_bytes(
            five, photometric="rgb", extrasamples=["unspecified"] * 2, compression="lzw"
        ),
        "bigtiff": tiff_bytes(unit, photometric="rgb", bigtiff=True, compression="deflate"),
        "pyramid": pyramid_tiff(unit),
    }


def pyramid_tiff(values: np.ndarray, levels: int = 3) -> bytes:
    """A tiled pyramid: the full image, then each level half the one before as its SubIFDs."""
    buf = BytesIO()
    with tifffile.TiffWriter(buf) as tif:
        tif.write(values, subifds=levels - 1, photometric="rgb", tile=(64, 64))
        for level in range(1, levels):
            step = 2**level
            tif.write(values[::step, ::step], subfiletype=1, photometric="rgb", tile=(64, 64))
    return buf.getvalue()


def tiff_declaring(width: int, height: int) -> bytes:
    """A float RGB TIFF (Pillow refuses those) whose header claims width x height pixels but
    holds 40x30: reading a pixel of it would fail, so only a check of the header refuses it
    for its size."""
    data = bytearray(tiff_bytes(np.zeros((30, 40, 3), np.float32), photometric="rgb"))
    with tifffile.TiffFile(BytesIO(bytes(data))) as tif:
        tags = tif.pages.first.tags
        fields = [(tags["ImageWidth"], width), (tags["ImageLength"], height)]
        for tag, value in fields:
            kind = "<H" if tag.dtype == tifffile.DATATYPE.SHORT else "<I"
            data[tag.valueoffset : tag.valueoffset + np.dtype(kind).itemsize] = np.array(
                [value], kind
            ).tobytes()
    return bytes(data)


def avif_10bit(rgb: np.ndarray) -> bytes:
    """``rgb`` (8-bit) as a 10-bit AVIF: each value times 4, written by libavif (imagecodecs)."""
    import imagecodecs

    values = rgb.astype(np.uint16) * 4
    return bytes(imagecodecs.avif_encode(values, level=90, speed=10, bitspersample=10))


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buf = BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()

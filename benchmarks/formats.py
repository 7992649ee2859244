"""Decode cost per file format: what `decode_image` (ingest's decoder) spends on one photo.

The same picture (scikit-image's astronaut, resized to --side x 2/3 --side, 6 MP by default: a
phone photo) is written in every format vitrieve reads, then decoded to the model's input as
ingest does. Speed is a ratio to the JPEG of the same pixels, measured in the same run; JPEG
is drafted at reduced scale, so most formats cost several JPEGs. The TIFF rows Pillow refuses
(float, planar, pyramid) are read by tifffile (indexer/tiff_fallback.py).

Usage: python -m benchmarks.formats [--side 3000] [--repeat 5]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, log, machine


def _pillow(fmt: str, **options: object) -> Callable[[Image.Image], bytes]:
    def write(image: Image.Image) -> bytes:
        buf = io.BytesIO()
        image.save(buf, fmt, **options)
        return buf.getvalue()

    return write


def _tifffile(**options: object) -> Callable[[Image.Image], bytes]:
    def write(image: Image.Image) -> bytes:
        import tifffile

        values = np.asarray(image, np.float32) / 255.0
        buf = io.BytesIO()
        if options.get("pyramid"):
            with tifffile.TiffWriter(buf) as tif:
                tif.write(values, subifds=3, photometric="rgb", tile=(256, 256))
                for step in (2, 4, 8):
                    tif.write(
                        values[::step, ::step], subfiletype=1, photometric="rgb", tile=(256, 256)
                    )
        elif options.get("planarconfig") == "separate":  # samples first: 3 x rows x columns
            tifffile.imwrite(buf, np.moveaxis(values, -1, 0), **options)
        else:
            tifffile.imwrite(buf, values, **options)
        return buf.getvalue()

    return write


def _avif_10bit(image: Image.Image) -> bytes:
    import imagecodecs

    values = np.asarray(image).astype(np.uint16) * 4
    return bytes(imagecodecs.avif_encode(values, level=80, speed=8, bitspersample=10))


WRITERS: dict[str, Callable[[Image.Image], bytes]] = {
    "JPEG q90": _pillow("JPEG", quality=90),
    "PNG": _pillow("PNG", compress_level=6),
    "WebP q80": _pillow("WEBP", quality=80),
    "HEIF q80": _pillow("HEIF", quality=80),
    "AVIF 8-bit q80": _pillow("AVIF", quality=80, speed=8),
    "AVIF 10-bit": _avif_10bit,
    "JPEG XL q90 (extra)": _pillow("JXL", quality=90, effort=3),
    "TIFF 8-bit LZW (Pillow)": _pillow("TIFF", compression="tiff_lzw"),
    "TIFF float32 planar (tifffile)": _tifffile(photometric="rgb", planarconfig="separate"),
    "TIFF float32 zstd (tifffile)": _tifffile(photometric="rgb", compression="zstd"),
    "TIFF float32 pyramid (tifffile)": _tifffile(pyramid=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import skimage.data

    from vitrieve.indexer.decode import decode_image

    size = (args.side, args.side * 2 // 3)
    photo = Image.fromarray(skimage.data.astronaut()).convert("RGB").resize(size)
    rows: dict[str, dict[str, float | int | str]] = {}
    for name, write in WRITERS.items():
        try:
            data = write(photo)
        except (KeyError, ImportError) as exc:  # no JPEG XL plugin here
            log(f"{name}: not written ({exc!r})")
            continue
        decoded = decode_image(data)  # warm-up, and what was read
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            decode_image(data)
            times.append(time.perf_counter() - started)
        ms = statistics.median(times) * 1e3
        rows[name] = {
            "ms": round(ms, 1),
            "bytes": len(data),
            "read": f"{decoded.image.width}x{decoded.image.height}",
        }
        log(f"{name}: {ms:.1f} ms, {len(data)} bytes, read {rows[name]['read']}")
    base = float(rows["JPEG q90"]["ms"])
    for row in rows.values():
        row["cost_vs_jpeg"] = round(float(row["ms"]) / base, 2)
    emit(
        {
            "benchmark": "formats",
            "machine": machine(),
            "pixels": f"{size[0]}x{size[1]}",
            "repeat": args.repeat,
            "formats": rows,
        }
    )


if __name__ == "__main__":
    main()

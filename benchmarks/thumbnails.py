"""Thumbnail encoding cost: the 256 px WebP vitrieve writes at ingest, per libwebp method.

Decoding threads make a thumbnail of every new image; with a faster runtime the model no longer
hides their cost, so the method is chosen by this measurement (ratio to method 4, the old
default, in the same run). Real photos (skimage.data), each downscaled as ingest does.

Usage: python -m benchmarks.thumbnails [--repeat 30]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, log, machine
from benchmarks.embed import real_photos

METHODS = (0, 1, 2, 3, 4, 6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    from vitrieve.indexer.thumbnails import THUMB_SIZE, WEBP_METHOD

    thumbs = []
    for _, photo in real_photos():
        thumb = photo.copy()
        thumb.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.BILINEAR)
        thumbs.append(thumb)
    results = {}
    for method in METHODS:
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            for thumb in thumbs:
                _encode(thumb, method)
            times.append((time.perf_counter() - started) / len(thumbs))
        total = sum(len(_encode(t, method)) for t in thumbs)
        results[method] = {"ms": round(statistics.median(times) * 1e3, 3), "bytes": total}
        log(f"method {method}: {results[method]['ms']} ms/thumbnail, {total} bytes")
    base = results[4]
    emit(
        {
            "benchmark": "thumbnails",
            "machine": machine(),
            "photos": len(thumbs),
            "chosen_method": WEBP_METHOD,
            "methods": {
                str(m): r
                | {
                    "speed_vs_method4": round(base["ms"] / r["ms"], 2),
                    "size_vs_method4": round(r["bytes"] / base["bytes"], 3),
                }
                for m, r in results.items()
            },
        }
    )


def _encode(thumb: Image.Image, method: int) -> bytes:
    buf = io.BytesIO()
    thumb.save(buf, format="WEBP", quality=80, method=method)
    return buf.getvalue()


if __name__ == "__main__":
    main()

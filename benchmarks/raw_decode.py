"""What a camera RAW costs to decode for the model, as a ratio to a JPEG of the same pixels.

Data: real photos (skimage.data) upscaled to a 24 MP "sensor" (6000x4000, what most cameras
record), written three ways: a JPEG at quality 92 (the baseline, decoded with JPEG draft
decoding as ingest does), a DNG whose embedded preview is that same full-size JPEG (the
preview path: most cameras embed one), and a DNG without a preview (the half-size demosaic
path), both written by pidng (`tests/support/raw_files.py`). Each file is decoded as ingest
decodes it (`decode.decode_image`, target 224, keeper facts included), interleaved in the same
run; reported per path: median over the photos of the fastest of --repeat decodes, in ms, and
the ratio to the JPEG's.

Usage: python -m benchmarks.raw_decode [--repeat 5] [--photos 3]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from io import BytesIO
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `indexer` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, log, machine

SENSOR = (6000, 4000)
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def files(count: int) -> dict[str, dict[str, bytes]]:
    """{path: {photo: bytes}} for the three paths."""
    import numpy as np
    import skimage.data
    from PIL import Image

    from tests.support import dng_bytes

    out: dict[str, dict[str, bytes]] = {"jpeg": {}, "raw_preview": {}, "raw_demosaic": {}}
    for name in PHOTOS[:count]:
        img = Image.fromarray(getattr(skimage.data, name)()).convert("RGB").resize(SENSOR)
        buf = BytesIO()
        img.save(buf, "JPEG", quality=92)
        out["jpeg"][name] = buf.getvalue()
        pixels = np.asarray(img)
        out["raw_preview"][name] = dng_bytes(pixels, preview=img)
        out["raw_demosaic"][name] = dng_bytes(pixels)
        log(f"{name}: files made")
    return out


def timed(payload: bytes, source: str) -> float:
    from vitrieve.indexer.decode import decode_image

    t0 = time.perf_counter()
    decode_image(payload, target_size=224, source=source)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--photos", type=int, default=3, choices=range(1, len(PHOTOS) + 1))
    args = parser.parse_args()

    data = files(args.photos)
    suffix = {"jpeg": ".jpg", "raw_preview": ".dng", "raw_demosaic": ".dng"}
    times: dict[str, dict[str, list[float]]] = {p: {n: [] for n in d} for p, d in data.items()}
    for _ in range(args.repeat):  # interleaved, so load changes hit every path alike
        for path, payloads in data.items():
            for name, payload in payloads.items():
                times[path][name].append(timed(payload, name + suffix[path]))
    # the fastest of the repeats: the least disturbed by other processes on a shared box
    ms = {p: statistics.median(min(t) for t in per.values()) for p, per in times.items()}
    result: dict = {
        "machine": machine(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "repeat": args.repeat,
        "photos": args.photos,
        "sensor": f"{SENSOR[0]}x{SENSOR[1]}",
    }
    for path, value in ms.items():
        result[path] = {"ms": round(value, 1), "ratio_to_jpeg": round(value / ms["jpeg"], 2)}
        log(f"{path}: {value:.1f} ms ({value / ms['jpeg']:.2f}x the JPEG)")
    emit(result)


if __name__ == "__main__":
    main()

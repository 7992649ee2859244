"""What the keeper facts add to decoding: ms per image with and without them, same run.

Data: JPEGs of real photos (skimage.data) with camera EXIF, upscaled to 12 MP and 24 MP (what
cameras write), plus 12 MP PNGs (the block-grid check runs on lossless files only). Each file
is decoded as ingest does (`decode.decode_image`, target 224: JPEG draft decoding), which
calls `photo_facts.exif_facts` on the header and `shot_scores` on the decoded pixels.
Decoding is timed with the facts and with them stubbed out, interleaved in the same run;
reported per kind of file (median over the files of the fastest of --repeat runs each): ms of
the decode without facts, ms the facts add, and their ratio.

Usage: python -m benchmarks.photo_facts [--repeat 5]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from io import BytesIO
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `indexer` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, log, machine


def files() -> dict[str, bytes]:
    import skimage.data
    from PIL import Image

    from tests.support import camera_exif

    out = {}
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        img = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        for label, size in (("12mp", (4000, 3000)), ("24mp", (6000, 4000))):
            buf = BytesIO()
            img.resize(size).save(buf, "JPEG", quality=92, exif=camera_exif().tobytes())
            out[f"{name}-{label}.jpg"] = buf.getvalue()
        buf = BytesIO()
        img.resize((4000, 3000)).save(buf, "PNG", compress_level=1)
        out[f"{name}-12mp.png"] = buf.getvalue()
    return out


def timed(decode_image, payload: bytes) -> float:
    t0 = time.perf_counter()
    decode_image(payload, target_size=224)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from vitrieve.indexer import decode
    from vitrieve.indexer.photo_facts import NO_EXIF

    real = decode.exif_facts, decode.shot_scores

    def facts(on: bool) -> None:
        if on:
            decode.exif_facts, decode.shot_scores = real
        else:
            decode.exif_facts = lambda im, exif: NO_EXIF  # type: ignore[assignment]
            decode.shot_scores = lambda rgb, **kw: None  # type: ignore[assignment]

    log("making test files")
    data = files()
    with_facts: dict[str, list[float]] = {n: [] for n in data}
    without: dict[str, list[float]] = {n: [] for n in data}
    try:
        for _ in range(args.repeat):  # interleaved, so load changes hit both alike
            for name, payload in data.items():
                facts(True)
                with_facts[name].append(timed(decode.decode_image, payload))
                facts(False)
                without[name].append(timed(decode.decode_image, payload))
    finally:
        facts(True)
    result: dict = {"machine": machine(), "repeat": args.repeat, "files": len(data)}
    for kind in sorted({n.split("-", 1)[1] for n in data}):
        names = [n for n in data if n.endswith(kind)]
        # the fastest of the repeats: the least disturbed by other processes on a shared box
        base = statistics.median(min(without[n]) for n in names)
        added = statistics.median(min(with_facts[n]) - min(without[n]) for n in names)
        result[kind] = {
            "decode_ms": round(base, 2),
            "facts_ms": round(added, 2),
            "ratio": round(added / base, 3),
        }
        log(f"{kind}: decode {base:.1f} ms, facts add {added:.1f} ms ({100 * added / base:.1f}%)")
    emit(result)


if __name__ == "__main__":
    main()

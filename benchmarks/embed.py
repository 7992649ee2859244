"""Embedder throughput: vitrieve's Embedder vs bare transformers ViTModel fp32, same run.

Both sides get a randomly initialised full-size ViT-B/16 (same weights, same batch, same batch
size, same torch thread count). The baseline is the reference way: the model's own image
processor, `ViTModel(...)(pixel_values=...).pooler_output` in fp32 under inference_mode.
vitrieve goes through its real path: `locate_model(dir)` + `Embedder(precision=...)`.

Also reports the least cosine between vitrieve's vectors and the baseline's normalised pooler
outputs, over real photos (skimage.data) and synthetic images.

With `--runtimes`: every CPU runtime vitrieve can choose (torch fp32/bf16, OpenVINO fp32/bf16/
int8 weights) and the auto choice, each timed interleaved with torch fp32 at each batch size and
reported as a ratio to it, with the least cosine to torch fp32 over the same photos.

Usage: python -m benchmarks.embed [--batch-size 16] [--batches 5] [--precision auto]
       python -m benchmarks.embed --runtimes [--sizes 1 8 32] [--batches 3]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `indexer` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, log, machine, make_vit_b16

PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "cat",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "colorwheel",
    "camera",
    "coins",
    "logo",
)


def real_photos() -> list[tuple[str, Image.Image]]:
    """skimage's bundled sample photos as RGB PIL images (any that are missing are skipped)."""
    import skimage.data

    out = []
    for name in PHOTOS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arr = getattr(skimage.data, name)()
        except Exception as exc:  # a sample that needs a download, or a newer skimage
            log(f"skipping skimage.data.{name}: {type(exc).__name__}")
            continue
        out.append((name, Image.fromarray(np.asarray(arr)).convert("RGB")))
    return out


def synthetic_photos(n: int, seed: int = 1) -> list[tuple[str, Image.Image]]:
    """Gradients + noise + shapes at assorted sizes and aspect ratios."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        w, h = int(rng.integers(160, 1200)), int(rng.integers(160, 1200))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        fx, fy = rng.uniform(8, 80, 2)
        base = np.stack([np.sin(xx / fx + c) * np.cos(yy / fy) for c in range(3)], -1)
        arr = np.clip(128 + 90 * base + rng.normal(0, 15, base.shape), 0, 255).astype(np.uint8)
        im = Image.fromarray(arr)
        draw = ImageDraw.Draw(im)
        for _ in range(4):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            x1, y1 = x0 + int(rng.integers(10, w)), y0 + int(rng.integers(10, h))
            fill = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=fill)
        out.append((f"synthetic{i}", im))
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--batches", type=int, default=5, help="timed repetitions per side")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--runtimes", action="store_true", help="compare every CPU runtime")
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 32], help="with --runtimes")
    args = ap.parse_args(argv)
    if args.runtimes:
        from benchmarks.embed_runtimes import compare

        result = compare(args.sizes, args.batches)
        emit(result)
        return result

    from transformers import AutoImageProcessor, ViTModel
    from transformers.utils import logging as hf_logging

    from vitrieve.indexer.embedder import Embedder
    from vitrieve.indexer.model_source import locate_model

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    load_start = round(os.getloadavg()[0], 2)  # other work on the machine skews timings
    bs = args.batch_size

    with tempfile.TemporaryDirectory(prefix="vitrieve-bench-embed-") as tmp:
        tmp_path = Path(tmp)
        log("building a random full-size ViT-B/16")
        model_dir = make_vit_b16(tmp_path / "vit-b16")

        log(f"loading vitrieve Embedder (precision={args.precision}, batch {bs})")
        t0 = time.perf_counter()
        emb = Embedder(
            locate_model(str(model_dir)),
            device="cpu",
            precision=args.precision,
            batch_size=bs,
            cache_dir=tmp_path / "cache",
        )
        load_s = time.perf_counter() - t0
        calibration = emb.decision.to_dict() if emb.decision else None
        log(f"vitrieve picked {emb.precision} in {load_s:.1f}s (calibration: {calibration})")

        log("loading baseline ViTModel fp32")
        base = ViTModel.from_pretrained(model_dir, add_pooling_layer=True).eval()
        processor = AutoImageProcessor.from_pretrained(model_dir)

        # -- agreement on real and synthetic photos -------------------------------------------
        photos = real_photos() + synthetic_photos(8)
        images = [im for _, im in photos]
        names = [n for n, _ in photos]
        ours = emb.embed_images(images)
        ref_pixels = processor(images=images, return_tensors="pt")["pixel_values"].float()
        ref = np.concatenate(
            [_baseline(base, ref_pixels[i : i + bs]) for i in range(0, len(ref_pixels), bs)]
        )
        ref /= np.linalg.norm(ref, axis=1, keepdims=True)
        cos = np.sum(ours * ref, axis=1)
        worst = int(np.argmin(cos))
        log(f"cosine vs fp32 over {len(images)} images: min {cos.min():.6f} ({names[worst]})")
        # preprocessing alone, fp32 both sides: isolates resize/normalise from precision
        ours_px = torch.from_numpy(np.stack([emb.spec.resize(im) for im in images]))
        px_diff = float((emb.spec.normalize(ours_px, torch.float32) - ref_pixels).abs().max())

        # -- throughput ---------------------------------------------------------------------
        batch_u8 = np.stack([emb.spec.resize(images[i % len(images)]) for i in range(bs)])
        batch_px = processor(
            images=[images[i % len(images)] for i in range(bs)], return_tensors="pt"
        )["pixel_values"].float()

        def run_ours():
            emb.embed_pixels(batch_u8)

        def run_base():
            _baseline(base, batch_px)

        log("warming up")
        for _ in range(2):
            run_ours()
            run_base()
        t_ours, t_base, cpu_ours, cpu_base = [], [], [], []
        for r in range(args.batches):  # interleaved, so drift hits both sides alike
            for fn, wall, cpu in ((run_ours, t_ours, cpu_ours), (run_base, t_base, cpu_base)):
                w, c = _time(fn)
                wall.append(w)
                cpu.append(c)
            log(f"rep {r + 1}: vitrieve {t_ours[-1]:.3f}s, baseline {t_base[-1]:.3f}s")
        ours_s, base_s = statistics.median(t_ours), statistics.median(t_base)
        paired = [b / o for o, b in zip(t_ours, t_base, strict=True)]

    result = {
        "benchmark": "embed",
        "vitrieve_img_s": round(bs / ours_s, 2),
        "baseline_img_s": round(bs / base_s, 2),
        "ratio": round(base_s / ours_s, 3),  # median baseline time / median vitrieve time
        "ratio_paired_median": round(statistics.median(paired), 3),
        "ratio_best": round(min(t_base) / min(t_ours), 3),  # least disturbed by other load
        # CPU seconds (user+sys) per batch: far less sensitive to other processes than wall time
        "ratio_cpu": round(statistics.median(cpu_base) / statistics.median(cpu_ours), 3),
        "load_avg_1m": [load_start, round(os.getloadavg()[0], 2)],
        "min_cos": round(float(cos.min()), 6),
        "min_cos_image": names[worst],
        "n_cos_images": len(images),
        "max_pixel_diff_vs_processor": round(px_diff, 6),
        "precision": emb.precision,
        "precision_requested": args.precision,
        "calibration": calibration,
        "runtime": emb.runtime.name,
        "vitrieve_attn": emb._model.config._attn_implementation if emb._model else None,
        "baseline_attn": base.config._attn_implementation,
        "batch_size": bs,
        "batches": args.batches,
        "vitrieve_batch_s": [round(t, 4) for t in t_ours],
        "baseline_batch_s": [round(t, 4) for t in t_base],
        "load_s": round(load_s, 2),
        "threads": threads,
        **machine(),
    }
    emit(result)
    return result


@torch.inference_mode()
def _baseline(model, pixel_values: torch.Tensor) -> np.ndarray:
    return model(pixel_values=pixel_values).pooler_output.float().numpy()


def _time(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call."""
    t, c = time.perf_counter(), _cpu_s()
    fn()
    return time.perf_counter() - t, _cpu_s() - c


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


if __name__ == "__main__":
    main()

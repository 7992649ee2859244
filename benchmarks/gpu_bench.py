"""The GPU check: model, embedder and end-to-end ingest throughput, each as a ratio to the bare
model measured in the same run, with per-stage utilisation so the bottleneck is named.

Steps (one process, < 5 minutes on an H100 with 16 cores, no network):
1. N distinct-content 1600x1200 JPEGs in /dev/shm: `--distinct` generated pictures, each
   copied with a unique JPEG comment so every file has its own content hash (every file is
   read, hashed, decoded, resized and embedded: nothing is deduplicated).
2. bare `ViTModel` (random ViTConfig(), pooler) bf16 + SDPA, batch 256: the baseline; also
   torch.compile of it when time allows (reported, not used by vitrieve yet).
3. vitrieve's Embedder on pre-decoded uint8 batches (host arrays: the ingest path) and on
   GPU-resident tensors (the same model and normalisation without host copies).
4. `ingest()` of the folder through the GPU front end (nvJPEG), wall time; the CPU decode
   pipeline on a subset for comparison; busy time per stage / wall = utilisation.
5. cosine between embeddings of GPU-preprocessed and CPU-preprocessed real photos.
6. faiss-gpu, when installed: GPU search agrees with CPU search.

`--dry-run` (automatic without CUDA): tiny N, a small ViT, CPU, and a Pillow stand-in for
nvJPEG, so every step's code runs; its numbers mean nothing.

Usage: python -m benchmarks.gpu_bench [--n 12288] [--distinct 1536] [--dry-run]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from io import BytesIO
from pathlib import Path

for extra in filter(None, os.environ.get("VITRIEVE_EXTRA_SITE", "").split(os.pathsep)):
    sys.path.append(extra)  # carried wheels: after the machine's own packages
if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import SEED, emit, log, machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
W, H, QUALITY, NOISE = 1600, 1200, 92, 12.0
STARTED = time.monotonic()


def elapsed() -> float:
    return time.monotonic() - STARTED


# -- images --------------------------------------------------------------------------------------


def _make(args: tuple[Path, int, int, int, int]) -> int:
    """Pictures start..stop-1 (colour field, shapes, noise: ~0.9 MB at q92), plus copies."""
    from PIL import Image, ImageDraw

    out, start, stop, copies, size = args
    w, h = (W, H) if size == 0 else (size, size * 3 // 4)
    noise = np.random.default_rng(start).normal(0, NOISE, (h + 64, w + 64, 3)).astype(np.int16)
    for i in range(start, stop):
        rng = np.random.default_rng(SEED + i)
        base = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
        base = base.resize((w, h), Image.Resampling.BICUBIC)
        draw = ImageDraw.Draw(base)
        for _ in range(int(rng.integers(3, 9))):
            x0, y0 = int(rng.integers(-w // 8, w)), int(rng.integers(-h // 6, h))
            x1, y1 = (
                x0 + int(rng.integers(w // 25, w // 2)),
                y0 + int(rng.integers(h // 20, h // 2)),
            )
            fill = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse, draw.rectangle)[int(rng.integers(0, 2))]((x0, y0, x1, y1), fill=fill)
        dy, dx = int(rng.integers(0, 64)), int(rng.integers(0, 64))
        arr = np.asarray(base, dtype=np.int16) + noise[dy : dy + h, dx : dx + w]
        buf = BytesIO()
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=QUALITY)
        data = buf.getvalue()
        for c in range(copies):  # a COM segment after SOI: same pixels, other bytes
            note = f"vitrieve-bench {i}.{c}".encode()
            seg = b"\xff\xfe" + (len(note) + 2).to_bytes(2, "big") + note
            (out / f"img{i:06d}_{c:02d}.jpg").write_bytes(data[:2] + seg + data[2:])
    return (stop - start) * copies


def generate(folder: Path, n: int, distinct: int, size: int = 0) -> float:
    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    copies = max(1, -(-n // distinct))
    step = max(1, distinct // (4 * (os.cpu_count() or 1)))
    jobs = [(folder, s, min(distinct, s + step), copies, size) for s in range(0, distinct, step)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        made = sum(pool.map(_make, jobs))
    for extra in sorted(folder.glob("*.jpg"))[n:]:
        extra.unlink()
    log(f"generated {min(made, n)} JPEGs ({distinct} pictures) in {time.perf_counter() - t0:.1f}s")
    return time.perf_counter() - t0


def real_photos() -> tuple[list[tuple[str, bytes]], str]:
    """JPEG bytes of real photos: .whl/photos (carried), skimage's samples, else synthetic."""
    from PIL import Image

    carried = sorted((ROOT / ".whl" / "photos").glob("*.jpg"))
    if carried:
        return [(p.stem, p.read_bytes()) for p in carried], "real (.whl/photos)"
    try:
        import skimage.data

        names = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "camera")
        images = [(n, Image.fromarray(getattr(skimage.data, n)()).convert("RGB")) for n in names]
        kind = "real (skimage)"
    except Exception:
        rng = np.random.default_rng(1)
        images = [
            (
                f"synthetic{i}",
                Image.fromarray(rng.integers(0, 256, (6, 8, 3), np.uint8)).resize(
                    (640, 480), Image.Resampling.BICUBIC
                ),
            )
            for i in range(6)
        ]
        kind = "synthetic (no photos available)"
    out = []
    for i, (name, im) in enumerate(images):
        buf = BytesIO()
        exif = Image.Exif()
        if i % 3 == 1:
            exif[0x0112] = 6  # one in three rotated by EXIF: orientation on the GPU is checked
        im.save(buf, "JPEG", quality=92, exif=exif)
        out.append((name, buf.getvalue()))
    return out, kind


# -- model -------------------------------------------------------------------------------------


def make_model(out: Path, dry: bool) -> Path:
    from transformers import ViTConfig, ViTModel

    torch.manual_seed(SEED)
    config = (
        ViTConfig()
        if not dry
        else ViTConfig(
            hidden_size=192, num_hidden_layers=2, num_attention_heads=3, intermediate_size=768
        )
    )
    ViTModel(config, add_pooling_layer=True).eval().save_pretrained(out)
    (out / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "do_normalize": True,
                "do_rescale": True,
                "do_resize": True,
                "image_mean": [0.5, 0.5, 0.5],
                "image_std": [0.5, 0.5, 0.5],
                "resample": 2,
                "rescale_factor": 1 / 255,
                "size": {"height": 224, "width": 224},
            }
        )
    )
    return out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rate(fn, per_call: int, device: torch.device, seconds: float, min_calls: int = 3) -> float:
    """Images per second of fn() over at least `seconds` (after two warm-up calls)."""
    fn()
    fn()
    sync(device)
    calls, t0 = 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - t0 < seconds:
        fn()
        calls += 1
    sync(device)
    return per_call * calls / (time.perf_counter() - t0)


def bare_model(model_dir: Path, device, dtype, batch: int, seconds: float, compile_: bool):
    from transformers import ViTModel

    model = ViTModel.from_pretrained(model_dir, attn_implementation="sdpa", add_pooling_layer=True)
    model = model.eval().to(device=device, dtype=dtype)
    x = torch.randn(batch, 3, 224, 224, device=device, dtype=dtype)

    @torch.inference_mode()
    def run(m=model):
        return m(pixel_values=x).pooler_output

    out = {"bare_img_s": rate(run, batch, device, seconds)}
    if compile_:
        t0 = time.perf_counter()
        compiled = torch.compile(model)  # default inductor: autotuning would not fit 5 min
        run_c = partial(run, m=compiled)
        run_c()
        out["compile_s"] = round(time.perf_counter() - t0, 1)
        out["bare_compiled_img_s"] = rate(run_c, batch, device, seconds)
    del model
    return out


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12288, help="files ingested")
    ap.add_argument("--distinct", type=int, default=1536, help="distinct pictures among them")
    ap.add_argument("--cpu-n", type=int, default=3072, help="files for the CPU-pipeline run")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=4.0, help="per throughput measurement")
    ap.add_argument("--budget-s", type=float, default=270.0, help="skip optional steps past it")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--dry-run", action="store_true", help="tiny CPU run of every step")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    dry = args.dry_run or not torch.cuda.is_available()
    if dry:
        args.n, args.distinct, args.cpu_n, args.batch, args.seconds = 24, 8, 8, 8, 0.5
        log("dry run: no CUDA (or --dry-run): tiny images, small ViT, CPU, Pillow for nvJPEG")
    device = torch.device("cpu" if dry else "cuda")
    base = args.workdir or Path(
        tempfile.mkdtemp(prefix="vitrieve-gpu-check-", dir=_ram_dir(args.n))
    )
    try:
        result = run(args, dry, device, base)
    finally:
        if args.workdir is None:
            shutil.rmtree(base, ignore_errors=True)
    emit(result)
    return result


def _ram_dir(n: int) -> str | None:
    """/dev/shm when it holds the images (containers often give it 64 MB), else the temp dir
    (the files are read right after being written, from the page cache either way)."""
    shm = Path("/dev/shm")
    try:
        roomy = shutil.disk_usage(shm).free > n * 1.3e6 + 2e9
    except OSError:
        return None
    return str(shm) if roomy and os.access(shm, os.W_OK) else None


def run(args: argparse.Namespace, dry: bool, device: torch.device, work: Path) -> dict:
    from vitrieve.core.config import Settings
    from vitrieve.indexer import gpu_pipeline
    from vitrieve.indexer.ingest import ingest
    from vitrieve.indexer.library import Library
    from vitrieve.indexer.pipeline import prepared_stream

    result: dict = {"benchmark": "gpu_check", "dry_run": dry, "n": args.n, "batch": args.batch}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        result["gpu"] = props.name
        result["gpu_memory_gb"] = round(props.total_memory / 2**30, 1)
    folder = work / "images"
    result["generate_s"] = round(generate(folder, args.n, args.distinct, 320 if dry else 0), 1)
    model_dir = make_model(work / "model", dry)
    dtype = torch.bfloat16

    log("bare ViTModel, bf16, SDPA")
    bare = bare_model(
        model_dir,
        device,
        dtype,
        args.batch,
        args.seconds,
        compile_=not (dry or args.no_compile) and elapsed() < args.budget_s / 3,
    )
    base_rate = bare["bare_img_s"]
    result.update({k: round(v, 1) for k, v in bare.items()})
    log(f"bare: {bare}")

    result.update(embedder_check(model_dir, device, args, base_rate, dry))
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)

    def settings(home: str) -> Settings:
        return Settings(
            home=work / home,
            model=str(model_dir),
            device=device.type,
            precision="bf16",
            batch_size=args.batch,
            decode_workers=os.cpu_count() or 1,
            offline=True,
        )

    front = gpu_pipeline.stream_for(device, settings("probe"))
    if dry:  # exercise the GPU front end on CPU tensors, with Pillow standing in for nvJPEG
        front = partial(gpu_pipeline.gpu_prepared_stream, device="cpu", decoder=_pil_decoder)
    result["front_end"] = "gpu" if front is not prepared_stream else "cpu (no torchvision)"
    log(f"ingest {args.n} files end to end ({result['front_end']} front end)")
    result["ingest"] = timed_ingest(
        Library, ingest, settings("home-gpu"), folder, front, gpu_pipeline
    )
    ing = result["ingest"]
    result["ingest_img_s"] = ing["img_s"]
    result["ingest_embed_phase_img_s"] = ing["embed_phase_img_s"]
    result["ingest_ratio_to_bare"] = round(ing["img_s"] / base_rate, 3)
    if device.type == "cuda":
        result["gpu_peak_memory_gb"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)

    if elapsed() < args.budget_s * 0.75:
        subset = work / "subset"
        subset.mkdir()
        for p in sorted(folder.glob("*.jpg"))[: args.cpu_n]:
            os.link(p, subset / p.name)
        log(f"ingest {args.cpu_n} files with the CPU decode pipeline (same model and device)")
        cpu = timed_ingest(
            Library, ingest, settings("home-cpu"), subset, prepared_stream, gpu_pipeline
        )
        result["cpu_pipeline_ingest_img_s"] = cpu["img_s"]
        result["gpu_front_end_speedup"] = round(ing["img_s"] / max(cpu["img_s"], 1e-9), 2)
    result["faiss"] = faiss_check()
    result.update(
        {
            "target_embedder_ge_0_9": result["embedder_ratio"] >= 0.9,
            "target_ingest_ge_4000": result["ingest_img_s"] >= 4000,
            "elapsed_s": round(elapsed(), 1),
            "cores": os.cpu_count(),
            **machine(),
        }
    )
    return result


def embedder_check(model_dir: Path, device, args, base_rate: float, dry: bool) -> dict:
    """vitrieve's Embedder on host uint8 batches (its ingest path) and on device tensors."""
    from vitrieve.indexer.embedder import Embedder
    from vitrieve.indexer.model_source import locate_model

    log("vitrieve Embedder on pre-decoded batches")
    emb = Embedder(
        locate_model(str(model_dir)), device=device.type, precision="bf16", batch_size=args.batch
    )
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (args.batch, 224, 224, 3), dtype=np.uint8)
    host_rate = rate(lambda: emb.embed_pixels(u8), args.batch, device, args.seconds)
    on_device = torch.from_numpy(u8).to(device)

    @torch.inference_mode()
    def device_only():
        return emb._model(pixel_values=emb.spec.normalize(on_device, emb.dtype)).pooler_output

    dev_rate = rate(device_only, args.batch, device, args.seconds)
    log(f"embedder: host arrays {host_rate:.0f} img/s, device tensors {dev_rate:.0f} img/s")
    log("cosine: GPU vs CPU preprocessing of photos")
    return {
        "embedder_img_s": round(host_rate, 1),
        "embedder_ratio": round(host_rate / base_rate, 3),
        "embedder_device_tensors_img_s": round(dev_rate, 1),
        "embedder_device_tensors_ratio": round(dev_rate / base_rate, 3),
        "embedder_precision": emb.precision,
        "preprocess_cosine": preprocess_cosine(emb, dry),
    }


def timed_ingest(Library, ingest, settings, folder: Path, front, gpu_pipeline) -> dict:
    """ingest() wall time with `front` as the decode front end, and where the time went."""
    original = gpu_pipeline.stream_for
    gpu_pipeline.stream_for = lambda device, s: front
    first_embed: list[float] = []

    class Progress:
        def scanned(self, files: int) -> None:
            pass

        def embedding(self, done: int, total: int) -> None:
            if done and not first_embed:
                first_embed.append(time.perf_counter())
            if done == total and total:
                log(f"  embedded {done}/{total}")

    try:
        with Library(settings) as lib:
            lib.embedder.embed_pixels(np.zeros((2, 224, 224, 3), np.uint8))  # load, warm up
            gpu_pipeline.LAST_STATS = None
            t0 = time.perf_counter()
            summary = ingest(lib, [folder], Progress())
            wall = time.perf_counter() - t0
    finally:
        gpu_pipeline.stream_for = original
    if summary.failed:
        raise SystemExit(f"ingest failed on {summary.failed} files: {summary.failures[:3]}")
    stages = summary.stages
    workers = settings.decode_workers
    util = {
        "scan_reconcile": stages["scan"] / wall,
        "model (main thread)": stages["embed"] / wall,
        "sql_write (main thread)": stages["write"] / wall,
    }
    stats = gpu_pipeline.LAST_STATS
    if stats is not None and front is not gpu_pipeline.prepared_stream:
        util |= {
            "read_hash_header (pool)": stats.read / (wall * workers),
            "gpu_decode_resize (decode thread)": stats.gpu / wall,
            "thumbnails (pool)": stats.thumbs / (wall * workers),
            "cpu_decode (pool)": stats.cpu_decode / (wall * workers),
        }
    else:
        util |= {
            "read (pool)": stages["read"] / (wall * workers),
            "decode_resize_thumb (pool)": stages["decode"] / (wall * workers),
        }
    embed_wall = time.perf_counter() - (first_embed[0] if first_embed else t0)
    out = {
        "files": summary.embedded,
        "wall_s": round(wall, 2),
        "img_s": round(summary.embedded / wall, 1),
        "embed_phase_img_s": round(summary.embedded / max(wall - stages["scan"], 1e-9), 1),
        "stages_s": stages,
        "utilisation": {k: round(v, 3) for k, v in util.items()},
        "bottleneck": max(util, key=util.get),
        "first_batch_s": round((first_embed[0] - t0) if first_embed else embed_wall, 2),
    }
    if stats is not None:
        out["front_end_stats"] = stats.as_dict()
    log(f"  {out['img_s']} img/s; utilisation {out['utilisation']}; bottleneck {out['bottleneck']}")
    return out


def preprocess_cosine(emb, dry: bool) -> dict:
    """Embeddings of photos preprocessed on the GPU (nvJPEG + orient + torch resize) vs the
    CPU path (Pillow draft decode + resize): how far the two front ends move a vector."""
    from vitrieve.indexer.decode import decode_image
    from vitrieve.indexer.gpu_pipeline import read_header, torchvision_decoder
    from vitrieve.indexer.gpu_transforms import orient, resize_many

    photos, kind = real_photos()
    decoder = None if dry else torchvision_decoder(emb.device)
    decoder = decoder or _pil_decoder
    cpu_px, gpu_px = [], []
    for _, data in photos:
        cpu_px.append(emb.spec.resize(decode_image(data, target_size=emb.spec.target_size).image))
        header = read_header(data)
        img = decoder([torch.frombuffer(bytearray(data), dtype=torch.uint8)])[0]
        img = orient(img, header.orientation if header else 1)
        gpu_px.append(resize_many([img], [(emb.spec.width, emb.spec.height)])[0].cpu().numpy())
    a, b = emb.embed_pixels(np.stack(cpu_px)), emb.embed_pixels(np.stack(gpu_px))
    cos = np.sum(a * b, axis=1)
    return {
        "min": round(float(cos.min()), 5),
        "mean": round(float(cos.mean()), 5),
        "n": len(photos),
        "images": kind,
        "decoder": "pillow stand-in" if decoder is _pil_decoder else "nvjpeg (torchvision)",
        "pixel_mad": round(
            float(
                np.mean(
                    [
                        np.abs(x.astype(np.float32) - y.astype(np.float32)).mean()
                        for x, y in zip(cpu_px, gpu_px, strict=True)
                    ]
                )
            ),
            3,
        ),
    }


def _pil_decoder(files: list[torch.Tensor]) -> list[torch.Tensor]:
    """Dry-run stand-in for nvJPEG: full decode to [3, H, W], no EXIF orientation."""
    from PIL import Image

    out = []
    for f in files:
        im = Image.open(BytesIO(f.numpy().tobytes())).convert("RGB")
        out.append(torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).contiguous())
    return out


def faiss_check() -> dict:
    """faiss version; with faiss-gpu and a GPU, GPU vs CPU top-10 agreement on an IVF index."""
    try:
        import faiss
    except ImportError:
        return {"installed": False}
    from vitrieve.indexer.index.policy import gpu_available, to_gpu

    out: dict = {"installed": True, "version": faiss.__version__, "gpu": gpu_available()}
    if not out["gpu"]:
        return out
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200_000, 768), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = faiss.index_factory(768, "IVF1024,SQ8", faiss.METRIC_INNER_PRODUCT)
    index.train(x[:60_000])
    index.add(x)
    index.nprobe = 16
    gpu = to_gpu(index)
    q = x[:500] + 0.05 * rng.standard_normal((500, 768), dtype=np.float32)
    _, a = index.search(q, 10)
    t0 = time.perf_counter()
    _, b = gpu.search(q, 10)
    out["gpu_search_qps"] = round(500 / (time.perf_counter() - t0), 1)
    out["gpu_cpu_top10_agreement"] = round(
        float(np.mean([len(set(r) & set(s)) / 10 for r, s in zip(a, b, strict=True)])), 4
    )
    return out


if __name__ == "__main__":
    main()

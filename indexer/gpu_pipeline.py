"""GPU front end of ingest: JPEGs decoded in batches by nvJPEG, oriented, resized and hashed on
the GPU, so 16 CPU cores no longer cap a GPU that embeds ~10,000 images a second.

Same contract as `indexer.pipeline.prepared_stream` (Prepared items, at most `window` in
flight), so `write_batch` and the catalog see identical statuses, failures and metadata:

- reader threads: read the bytes, xxh3 content hash, parse the JPEG header with Pillow (no
  pixel decode): format, size, EXIF orientation, capture time, camera, GPS, Software and JPEG
  quality, exactly as `decode` does (`photo_facts.exif_facts`).
- anything the GPU should not try (not a baseline/progressive RGB or grey JPEG, no end marker,
  over the pixel limit or `limits.LARGE_PIXELS`: a 150 MP JPEG is 450 MB of GPU memory in
  full, a few MB in draft decoding) goes to the CPU path (`pipeline.prepare`, draft decode) in
  the same pool, as does any image nvJPEG rejects: its errors are the CPU path's errors.
- one decode thread, own CUDA stream: `torchvision.io.decode_jpeg(list, device="cuda")`,
  orientation as tensor flips/rotations, 224x224 and thumbnail-size copies by bilinear
  antialiased interpolation (batched per source size), a pixel hash on the GPU, a grayscale
  copy at `photo_facts.SCORE_SIDE` for the sharpness/exposure scores; one download per batch.
  A batch that runs out of GPU memory is split in half and retried, never lost.
- thumbnails: written by the pool with `thumbnails.write_thumbnail` (WebP method 0) from the
  GPU-downscaled copy (the full image never leaves the GPU); each item is emitted once its
  thumbnail is written.

Differences from the CPU path, by design: `pixel_hash` is computed from the full decode on the
GPU (`tensor_pixel_hash`, prefixed into its own namespace), so exact-pixel duplicates are found
within one decode path; thumbnails use WebP method 0 (fastest, ~20% larger files). Nothing
here runs on a GPU in CI: the decoder is injectable, and tests drive this module on CPU
tensors with a Pillow decoder.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from vitrieve.core.config import Settings
from vitrieve.indexer.decode import exif_captured_at, exif_orientation
from vitrieve.indexer.decode_messages import captured
from vitrieve.indexer.gpu_transforms import (
    orient,
    resize_many,
    split_on_oom,
    tensor_pixel_hashes,
    thumb_size,
)
from vitrieve.indexer.limits import DEFAULT_MAX_PIXELS, LARGE_PIXELS, InputLimits, admit_in_pillow
from vitrieve.indexer.photo_facts import (
    ExifFacts,
    PhotoFacts,
    exif_facts,
    score_reduction,
    score_size,
    scores_of_gray,
)
from vitrieve.indexer.pipeline import (
    Prepared,
    StageTimes,
    WorkItem,
    prepare,
    prepared_stream,
    read_item,
)
from vitrieve.indexer.preprocess import PreprocessSpec
from vitrieve.indexer.reader import ReadError, content_hash
from vitrieve.indexer.thumbnails import thumbnail_path, write_thumbnail

log = logging.getLogger(__name__)

Decoder = Callable[[list[torch.Tensor]], list[torch.Tensor]]
"""1-D uint8 CPU tensors of JPEG files -> RGB uint8 [3, H, W] tensors on the device."""

GPU_FORMATS = frozenset({"JPEG", "MPO"})
GPU_MODES = frozenset({"RGB", "L"})  # CMYK/YCCK JPEGs: nvJPEG's colour handling differs
THUMB_WEBP_METHOD = 0
DECODE_BATCH = 64


# -- availability ------------------------------------------------------------------------------


def torchvision_decoder(device: torch.device) -> Decoder | None:
    """nvJPEG through torchvision, or None where torchvision does not import (CPU-only hosts:
    PyPI's torchvision does not match a CPU torch build)."""
    try:
        from torchvision.io import ImageReadMode, decode_jpeg
    except Exception as exc:  # ImportError, or a torch/torchvision ABI mismatch
        log.info("GPU JPEG decoding unavailable: torchvision does not import (%s)", exc)
        return None

    def decode(files: list[torch.Tensor]) -> list[torch.Tensor]:
        out = decode_jpeg(files, mode=ImageReadMode.RGB, device=device)
        return out if isinstance(out, list) else [out]

    return decode


def stream_for(device: torch.device, settings: Settings) -> Callable[..., Iterator[Prepared]]:
    """The prepared-stream function ingest should use: the GPU front end on CUDA when
    `settings.gpu_decode` and torchvision imports, else the CPU pipeline."""
    if device.type == "cuda" and settings.gpu_decode:
        decoder = torchvision_decoder(device)
        if decoder is not None:
            return partial(gpu_prepared_stream, device=device, decoder=decoder)
    return prepared_stream


# -- header ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Header:
    format: str
    width: int  # upright, as the CPU path records them
    height: int
    orientation: int
    captured_at: datetime | None
    exif: ExifFacts


def read_header(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Header | None:
    """What the catalog records, from the JPEG header alone; None: leave it to the CPU path."""
    if not data.startswith(b"\xff\xd8\xff") or not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return None  # not a JPEG, or truncated: the CPU path words the failure
    admit_in_pillow(max_pixels)
    with captured() as notes:  # what Pillow says about the header, logged, never printed
        try:
            im = Image.open(BytesIO(data))
            fmt, mode, (w, h) = im.format, im.mode, im.size
            if (
                fmt not in GPU_FORMATS
                or mode not in GPU_MODES
                or w * h > min(max_pixels, LARGE_PIXELS)
            ):
                return None
            exif = im.getexif()
            facts = exif_facts(im, exif, data)
        except Exception:  # anything odd in the header: the CPU path decides and explains
            return None
    if notes:
        log.info("JPEG header: %s", notes.summary())
    orientation = exif_orientation(exif)
    if orientation >= 5:
        w, h = h, w
    return Header(fmt, w, h, orientation, exif_captured_at(exif), facts)


# -- the stream ------------------------------------------------------------------------------


@dataclass
class GpuStats:
    """Busy seconds per stage (summed over threads where several run it), for utilisation."""

    read: float = 0.0  # read + content hash + header (reader threads)
    cpu_decode: float = 0.0  # CPU-path items (pool threads)
    gpu: float = 0.0  # decode thread: nvJPEG, orient, resize, hash, download
    thumbs: float = 0.0  # WebP encode + write (pool threads)
    gpu_images: int = 0
    cpu_images: int = 0
    gpu_fallbacks: int = 0  # JPEGs nvJPEG rejected, redone on CPU
    oom_splits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, stage: str, seconds: float, **counts: int) -> None:
        with self._lock:
            setattr(self, stage, getattr(self, stage) + seconds)
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, float]:
        return {
            k: round(v, 3) if isinstance(v, float) else v
            for k, v in vars(self).items()
            if not k.startswith("_")
        }


LAST_STATS: GpuStats | None = None
"""The most recent stream's stats (benchmarks read them after an ingest)."""


@dataclass(slots=True)
class _Job:
    item: WorkItem
    data: bytes
    content_hash: str
    header: Header


_DONE = object()


def gpu_prepared_stream(
    items: Iterable[WorkItem],
    spec: PreprocessSpec,
    *,
    workers: int,
    window: int,
    times: StageTimes | None = None,
    thumb_dir: Path | None = None,
    device: torch.device | str = "cuda",
    decoder: Decoder | None = None,
    batch: int = DECODE_BATCH,
    stats: GpuStats | None = None,
    limits: InputLimits = InputLimits(),
) -> Iterator[Prepared]:
    """Yields a Prepared per item (completion order, not input order), <= `window` in flight."""
    global LAST_STATS
    device = torch.device(device)
    decoder = decoder or torchvision_decoder(device)
    if decoder is None:
        raise RuntimeError("no GPU JPEG decoder: use indexer.pipeline.prepared_stream")
    stats = LAST_STATS = stats or GpuStats()
    run = _Run(spec, device, decoder, max(1, batch), times, thumb_dir, stats, window, limits)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="gpu-read") as pool:
        run.pool = pool
        threads = [
            threading.Thread(target=run.feed, args=(iter(items),), name="gpu-feed", daemon=True),
            threading.Thread(target=run.decode_loop, name="gpu-decode", daemon=True),
        ]
        for t in threads:
            t.start()
        try:
            yield from run.results()
        finally:
            run.stop.set()
            run.jobs.put(_DONE)
            for t in threads:
                t.join()


class _Run:
    """State of one stream: the threads talk through two queues and a window semaphore."""

    def __init__(self, spec, device, decoder, batch, times, thumb_dir, stats, window, limits):
        self.spec, self.device, self.decoder, self.batch = spec, device, decoder, batch
        self.times, self.thumb_dir, self.stats, self.limits = times, thumb_dir, stats, limits
        self.slots = threading.Semaphore(max(1, window))
        self.jobs: queue.Queue[Any] = queue.Queue()
        self.out: queue.Queue[Any] = queue.Queue()
        self.stop = threading.Event()
        self.pool: ThreadPoolExecutor | None = None
        self.submitted = 0
        self.fed_all = threading.Event()

    # feeder thread: bounded submission
    def feed(self, items: Iterator[WorkItem]) -> None:
        assert self.pool is not None  # set before any thread of the run starts
        try:
            for item in items:
                while not self.slots.acquire(timeout=0.1):
                    if self.stop.is_set():
                        return
                if self.stop.is_set():
                    return
                self.submitted += 1
                self.pool.submit(self._guard, self._read, item)
        except BaseException as exc:
            self.out.put(exc)
        finally:
            self.fed_all.set()
            self.out.put(_DONE)

    def results(self) -> Iterator[Prepared]:
        yielded, fed = 0, False
        while not (fed and yielded == self.submitted):
            got = self.out.get()
            if got is _DONE:
                fed = True
                continue
            if isinstance(got, BaseException):
                raise got
            yielded += 1
            yield got
            self.slots.release()  # after the consumer is done with it, as prepared_stream

    def _guard(self, fn: Callable, *args: Any) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # a bug, not a bad file: surface it in the consumer
            self.out.put(exc)

    # reader threads
    def _read(self, item: WorkItem) -> None:
        t0 = time.perf_counter()
        try:
            data = read_item(item, self.limits)
        except ReadError:
            self._cpu(item)  # words the read failure exactly as the CPU path does
            return
        digest = content_hash(data)
        header = read_header(data, self.limits.max_image_pixels)
        dt = time.perf_counter() - t0
        self.stats.add("read", dt)
        if self.times:
            self.times.add("read", dt)
        if header is None:
            self._cpu(item)
        else:
            self.jobs.put(_Job(item, data, digest, header))

    def _cpu(self, item: WorkItem) -> None:
        t0 = time.perf_counter()
        prepared = prepare(item, self.spec, self.times, self.thumb_dir, self.limits)
        self.stats.add("cpu_decode", time.perf_counter() - t0, cpu_images=1)
        self.out.put(prepared)

    # decode thread
    def decode_loop(self) -> None:
        stream = torch.cuda.Stream(self.device) if self.device.type == "cuda" else None
        while True:
            first = self.jobs.get()
            if first is _DONE or self.stop.is_set():
                return
            batch = [first]
            while len(batch) < self.batch:
                try:
                    nxt = self.jobs.get(timeout=0.002)
                except queue.Empty:
                    if self.fed_all.is_set() or len(batch) >= self.batch // 4:
                        break
                    continue
                if nxt is _DONE:
                    self.jobs.put(_DONE)
                    break
                batch.append(nxt)
            try:
                if stream is not None:
                    with torch.cuda.stream(stream):
                        self._gpu_batch(batch)
                else:
                    self._gpu_batch(batch)
            except BaseException as exc:
                self.out.put(exc)
                return

    def _gpu_batch(self, jobs: list[_Job]) -> None:
        t0 = time.perf_counter()
        decoded = self._decode(jobs)
        ok = [(j, img) for j, img in zip(jobs, decoded, strict=True) if img is not None]
        for j, img in zip(jobs, decoded, strict=True):
            if img is None:
                self.stats.add("gpu", 0.0, gpu_fallbacks=1)
                assert self.pool is not None  # set before any thread of the run starts
                self.pool.submit(self._guard, self._cpu, j.item)
        if not ok:
            return
        upright = [orient(img, j.header.orientation) for j, img in ok]
        model_in = split_on_oom(
            lambda imgs: resize_many(imgs, [(self.spec.width, self.spec.height)] * len(imgs)),
            upright,
        )
        pixels = torch.stack(model_in).cpu().numpy()
        want_thumbs = [self._wants_thumb(j) for j, _ in ok]
        thumb_in = [img for img, want in zip(upright, want_thumbs, strict=True) if want]
        thumbs = resize_many(thumb_in, [thumb_size(i.shape[2], i.shape[1]) for i in thumb_in])
        thumbs_cpu = iter([t.cpu().numpy() for t in thumbs])
        hashes = tensor_pixel_hashes(upright)
        grays = _score_grays(upright, self.spec.target_size)
        dt = time.perf_counter() - t0
        self.stats.add("gpu", dt, gpu_images=len(ok))
        if self.times:
            self.times.add("decode", dt)
        for (job, _), px, ph, want, gray in zip(
            ok, pixels, hashes, want_thumbs, grays, strict=True
        ):
            h = job.header
            prepared = Prepared(
                job.item.image_id,
                job.item.path,
                content_hash=job.content_hash,
                pixel_hash=ph,
                pixels=px,
                width=h.width,
                height=h.height,
                format=h.format,
                captured_at=h.captured_at,
                # JPEGs only here: no block-grid check, as on the CPU path
                facts=PhotoFacts.of(h.exif, scores_of_gray(gray)),
            )
            if want:
                assert self.pool is not None  # set before any thread of the run starts
                self.pool.submit(self._guard, self._thumb, prepared, next(thumbs_cpu))
            else:
                self.out.put(prepared)

    def _decode(self, jobs: list[_Job]) -> list[torch.Tensor | None]:
        """Batched nvJPEG; on a decode error, one by one so only the bad file falls back."""
        files = [torch.frombuffer(bytearray(j.data), dtype=torch.uint8) for j in jobs]

        def run(part: Sequence[torch.Tensor]) -> list[torch.Tensor]:
            return list(self.decoder(list(part)))

        try:
            return split_on_oom(run, files)
        except torch.OutOfMemoryError:
            self.stats.add("gpu", 0.0, oom_splits=1)
        except Exception as exc:  # nvJPEG rejects one file: find it
            if len(files) == 1:
                log.debug("GPU decoder rejected %s (%s); CPU path", jobs[0].item.path, exc)
                return [None]
        out: list[torch.Tensor | None] = []
        for f in files:
            try:
                out.append(self.decoder([f])[0])
            except Exception:
                out.append(None)
        return out

    def _wants_thumb(self, job: _Job) -> bool:
        return (
            self.thumb_dir is not None
            and not thumbnail_path(self.thumb_dir, job.content_hash).exists()
        )

    # pool threads
    def _thumb(self, prepared: Prepared, thumb: np.ndarray) -> None:
        t0 = time.perf_counter()
        assert prepared.content_hash is not None  # GPU-path items are hashed when read
        try:
            write_thumbnail(
                Image.fromarray(thumb),
                self.thumb_dir,
                prepared.content_hash,
                method=THUMB_WEBP_METHOD,
            )
        except OSError as exc:  # as the CPU path: our problem, reported on the item
            prepared.error = f"cannot write thumbnail: {exc}"
        self.stats.add("thumbs", time.perf_counter() - t0)
        self.out.put(prepared)


def _score_grays(upright: list[torch.Tensor], target_size: int) -> list[np.ndarray]:
    """Each [3, H, W] image as a grayscale with long side SCORE_SIDE, on the CPU, made as the
    CPU path makes it: the JPEG draft reduction (`decode`: 1/2, 1/4 or 1/8 when the short side
    is >= 4x the model's input) and `photo_facts.score_reduction`, here as average pools, then
    an antialiased bilinear resize and ITU-R 601 luma (the CPU path takes luma first; the
    order changes values by rounding only). Sharpness depends on that chain."""
    pooled = []
    for img in upright:
        h, w = img.shape[1:]
        for factor in (_draft_factor(w, h, target_size), 0):
            if factor == 0:  # after the draft: the same reduction as photo_facts.shot_scores
                factor = score_reduction(img.shape[2], img.shape[1])
            if factor > 1:
                x = torch.nn.functional.avg_pool2d(img.unsqueeze(0).float(), factor, ceil_mode=True)
                img = x.squeeze(0).round_().clamp_(0, 255).to(torch.uint8)
        pooled.append(img)
    small = resize_many(pooled, [score_size(i.shape[2], i.shape[1]) for i in pooled])
    weights = torch.tensor([0.299, 0.587, 0.114], device=upright[0].device)
    return [(s.float() @ weights).round_().cpu().numpy() for s in small]


def _draft_factor(width: int, height: int, target_size: int) -> int:
    """The scale libjpeg's draft mode gives `decode` for this JPEG (Pillow's rule)."""
    if min(width, height) < 4 * target_size:
        return 1
    fit = min(width // (2 * target_size), height // (2 * target_size))
    return max(f for f in (1, 2, 4, 8) if f <= fit)

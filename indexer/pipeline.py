"""Read -> hash -> decode -> resize in threads, then embed and write in batches.

Pillow and xxhash release the GIL, so a thread per core keeps the decoders busy while the main
thread runs the model. The number of items in flight is capped (`window`), so memory stays flat
whatever the collection size: at most `window` resized uint8 images exist at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from vitrieve.indexer.decode import DecodeError, decode_image
from vitrieve.indexer.limits import InputLimits
from vitrieve.indexer.photo_facts import UNKNOWN_FACTS, PhotoFacts
from vitrieve.indexer.preprocess import PreprocessSpec
from vitrieve.indexer.reader import ReadError, content_hash, pixel_hash, read_file
from vitrieve.indexer.thumbnails import write_thumbnail


@dataclass(frozen=True, slots=True)
class WorkItem:
    image_id: int
    path: Path
    # The root `path` lies in: no link below it is followed when the file is read. None (files
    # that are not a library's): only the file itself must not be a link.
    root: Path | None = None

    @classmethod
    def in_root(cls, image_id: int, root: str | Path, rel_path: str) -> WorkItem:
        """The item of a catalog row: its root and its path below it."""
        return cls(image_id, Path(root) / rel_path, Path(root))


def read_item(item: WorkItem, limits: InputLimits) -> bytes:
    """The item's bytes, read as `reader.read_library_file` reads (no link followed below its
    root, bounded, never blocking), else ReadError."""
    return read_file(item.path, max_size=limits.max_file_size, root=item.root or item.path.parent)


@dataclass(slots=True)
class Prepared:
    image_id: int
    path: Path
    content_hash: str | None = None
    pixel_hash: str | None = None
    pixels: np.ndarray | None = None  # uint8 [H, W, 3] at the model's input size
    width: int | None = None
    height: int | None = None
    format: str | None = None
    captured_at: datetime | None = None
    error: str | None = None
    facts: PhotoFacts = UNKNOWN_FACTS  # what keeper choice needs (indexer.photo_facts)


@dataclass
class StageTimes:
    """Seconds spent per stage; read and decode are summed over the worker threads."""

    scan: float = 0.0
    read: float = 0.0
    decode: float = 0.0
    embed: float = 0.0
    write: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            setattr(self, stage, getattr(self, stage) + seconds)

    def as_dict(self) -> dict[str, float]:
        return {k: round(getattr(self, k), 3) for k in ("scan", "read", "decode", "embed", "write")}


def prepare(
    item: WorkItem,
    spec: PreprocessSpec,
    times: StageTimes | None = None,
    thumb_dir: Path | None = None,
    limits: InputLimits = InputLimits(),
) -> Prepared:
    """Never raises for bad input: a broken file becomes a Prepared with `error` set."""
    out = Prepared(item.image_id, item.path)
    t0 = time.perf_counter()
    try:
        data = read_item(item, limits)
        out.content_hash = content_hash(data)
    except ReadError as exc:
        out.error = exc.reason
        return out
    finally:
        t1 = time.perf_counter()
        if times:
            times.add("read", t1 - t0)
    try:
        decoded = decode_image(
            data,
            target_size=spec.target_size,
            source=str(item.path),
            max_pixels=limits.max_image_pixels,
        )
        out.pixel_hash = pixel_hash(decoded.image)
        out.pixels = spec.resize(decoded.image)
        if thumb_dir is not None:
            write_thumbnail(decoded.image, thumb_dir, out.content_hash)
        out.width, out.height = decoded.width, decoded.height
        out.format, out.captured_at = decoded.format, decoded.captured_at
        out.facts = PhotoFacts.of(decoded.exif, decoded.scores)
    except DecodeError as exc:
        out.error = exc.reason
    except MemoryError:
        out.error = "out of memory while decoding"
    except OSError as exc:  # the thumbnail could not be written: a problem of ours, not the file
        out.error = f"cannot write thumbnail: {exc}"
    finally:
        if times:
            times.add("decode", time.perf_counter() - t1)
    return out


def prepared_stream(
    items: Iterable[WorkItem],
    spec: PreprocessSpec,
    *,
    workers: int,
    window: int,
    times: StageTimes | None = None,
    thumb_dir: Path | None = None,
    limits: InputLimits = InputLimits(),
) -> Iterator[Prepared]:
    """Yields Prepared in input order with at most `window` items in flight."""
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="decode") as pool:
        pending: deque[Future[Prepared]] = deque()
        for item in items:
            pending.append(pool.submit(prepare, item, spec, times, thumb_dir, limits))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def batched(stream: Iterable[Prepared], size: int) -> Iterator[list[Prepared]]:
    batch: list[Prepared] = []
    for p in stream:
        batch.append(p)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

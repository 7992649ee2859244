"""Ingest: scan roots, reconcile with the catalog, embed what is pending, update the index.

Every step commits as it goes (reconcile per root, then one transaction per batch), so an
interrupted ingest resumes where it stopped: what was written stays, pending rows are simply
picked up again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from sqlalchemy import func, or_, select

from indexer.catalog import (
    RootTarget,
    decode_vectors,
    mark_stale_for_model,
    resolve_target,
    under_folder,
)
from indexer.decode import IMAGE_EXTENSIONS
from indexer.errors import VitrieveError
from indexer.library import Library
from indexer.models import Embedding, Image, ImageStatus, Root
from indexer.pipeline import StageTimes, WorkItem, batched, prepared_stream
from indexer.reconcile import reconcile
from indexer.scan import ScannedFile, ScanProblem, scan_tree
from indexer.writer import write_batch

SAVE_EVERY_S = 30.0  # so other processes see progress during a long ingest


@dataclass(frozen=True, slots=True)
class Failure:
    path: str
    reason: str


@dataclass
class IngestSummary:
    new: int = 0
    changed: int = 0
    moved: int = 0
    missing: int = 0
    unchanged: int = 0
    failed: int = 0
    embedded: int = 0  # images that got a vector in this run
    computed: int = 0  # forward passes (byte-identical copies share one)
    failures: list[Failure] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


class IngestProgress(Protocol):
    def scanned(self, files: int) -> None: ...
    def embedding(self, done: int, total: int) -> None: ...


class _Silent:
    def scanned(self, files: int) -> None:
        pass

    def embedding(self, done: int, total: int) -> None:
        pass


def ingest(
    lib: Library, paths: Sequence[Path], progress: IngestProgress | None = None
) -> IngestSummary:
    progress = progress or _Silent()
    started = time.perf_counter()
    for p in paths:
        if not Path(p).is_dir():
            raise VitrieveError(f"{p}: not a directory")
    embedder = lib.embedder  # fail on a missing model before touching anything
    model = lib.model_row
    summary = IngestSummary()
    times = StageTimes()
    with lib.sessions.begin() as session:
        targets = [resolve_target(session, Path(p)) for p in paths]
    index = lib.index()

    seen = 0
    for target in targets:
        problems: list[ScanProblem] = []
        t0 = time.perf_counter()
        with lib.sessions.begin() as session:
            files = _counted(
                scan_tree(
                    target.root_path,
                    extensions=IMAGE_EXTENSIONS,
                    subdir=target.subdir,
                    exclude=[lib.settings.home],
                    on_problem=problems.append,
                ),
                progress,
                seen,
            )
            result = reconcile(session, target, files, model.id)
            seen += result.new + result.changed + result.moved + result.unchanged
        times.add("scan", time.perf_counter() - t0)
        for name in ("new", "changed", "moved", "missing", "unchanged"):
            setattr(summary, name, getattr(summary, name) + getattr(result, name))
        summary.failures += [
            Failure(str(target.root_path / p.rel_path), p.reason) for p in problems
        ]
        index.remove(_ids(result.removed_ids))
        _restore_vectors(lib, index, result.restored_ids, model.id, model.dim)

    with lib.sessions.begin() as session:
        mark_stale_for_model(session, model.id, [t.root_id for t in targets])
        total = _count_pending(session, targets)
    progress.embedding(0, total)
    done, last_save = 0, time.monotonic()
    workers = lib.settings.decode_workers or os.cpu_count() or 1
    stream = prepared_stream(
        _pending(lib, targets),
        embedder.spec,
        workers=workers,
        window=max(2 * embedder.batch_size, 4 * workers),
        times=times,
    )
    for batch in batched(stream, embedder.batch_size):
        t0 = time.perf_counter()
        with lib.sessions.begin() as session:
            outcome = write_batch(
                session, batch, model.id, model.dim, _timed_embed(embedder, times)
            )
        index.add(outcome.embedded_ids, outcome.vectors)
        times.add("write", time.perf_counter() - t0)
        summary.embedded += len(outcome.embedded_ids)
        summary.computed += outcome.computed
        summary.failures += [Failure(str(p.path), p.error or "") for p in outcome.failures]
        done += len(batch)
        progress.embedding(done, total)
        if time.monotonic() - last_save > SAVE_EVERY_S:
            index.save()
            last_save = time.monotonic()
    index.save()
    summary.failed = len(summary.failures)
    times.write -= times.embed  # write_batch's time includes the forward passes
    summary.stages = times.as_dict()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _timed_embed(embedder, times: StageTimes):
    def run(pixels):
        t0 = time.perf_counter()
        try:
            return embedder.embed_pixels(pixels)
        finally:
            times.add("embed", time.perf_counter() - t0)

    return run


def _counted(files: Iterator[ScannedFile], progress: IngestProgress, start: int):
    n = start
    for f in files:
        n += 1
        if n % 500 == 0:
            progress.scanned(n)
        yield f
    progress.scanned(n)


def _ids(ids: list[int]) -> np.ndarray:
    return np.asarray(ids, dtype=np.int64)


def _restore_vectors(lib: Library, index, ids: list[int], model_id: int, dim: int) -> None:
    if not ids:
        return
    with lib.sessions() as session:
        rows = session.execute(
            select(Embedding.image_id, Embedding.vector).where(
                Embedding.image_id.in_(ids), Embedding.model_id == model_id
            )
        ).all()
    index.add(_ids([r[0] for r in rows]), decode_vectors([r[1] for r in rows], dim))


def _pending_filter(targets: Sequence[RootTarget]):
    return (Image.status == ImageStatus.PENDING) & or_(
        *[(Image.root_id == t.root_id) & under_folder(t.subdir) for t in targets]
    )


def _count_pending(session, targets: Sequence[RootTarget]) -> int:
    return session.scalar(select(func.count()).select_from(Image).where(_pending_filter(targets)))


def _pending(lib: Library, targets: Sequence[RootTarget], chunk: int = 2000) -> Iterator[WorkItem]:
    """Pending images by keyset pagination, so a million-file ingest never lists them all."""
    last = 0
    while True:
        with lib.sessions() as session:
            rows = session.execute(
                select(Image.id, Root.path, Image.rel_path)
                .join(Root)
                .where(_pending_filter(targets), Image.id > last)
                .order_by(Image.id)
                .limit(chunk)
            ).all()
        if not rows:
            return
        for image_id, root_path, rel_path in rows:
            yield WorkItem(image_id, Path(root_path) / rel_path)
        last = rows[-1][0]

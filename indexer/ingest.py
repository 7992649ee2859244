"""Ingest: scan roots, reconcile with the catalog, embed what is pending, update the index.

Every step commits as it goes (reconcile per root, then one transaction per batch), so an
interrupted ingest resumes where it stopped: what was written stays, pending rows are simply
picked up again.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.catalog import (
    RootTarget,
    mark_stale_for_model,
    refuse_data_dir,
    under_folder,
    vectors_by_ids,
)
from vitrieve.indexer.decode import scanned_extensions
from vitrieve.indexer.index.store import VectorIndex
from vitrieve.indexer.library import Library
from vitrieve.indexer.limits import InputLimits
from vitrieve.indexer.pipeline import StageTimes, WorkItem, batched
from vitrieve.indexer.reconcile import reconcile
from vitrieve.indexer.root_locks import locked_targets
from vitrieve.indexer.scan import ScannedFile, ScanProblem, scan_tree
from vitrieve.indexer.writer import BatchOutcome, write_batch
from vitrieve.tables.catalog import Image, ImageStatus, Root

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
    # Files the scan left out for their extension, per lower-cased extension ('' = none), most
    # first: what was not indexed must be visible (a folder of .mov files is not "0 new").
    skipped: dict[str, int] = field(default_factory=dict)
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


EmbeddedHook = Callable[[Session, BatchOutcome], object]  # what it returns is unused


@dataclass
class ScanOutcome:
    """What scanning some folders changed in the catalog (committed), index not yet touched."""

    targets: list[RootTarget]
    summary: IngestSummary
    removed_ids: list[int] = field(default_factory=list)  # must leave the index
    restored_ids: list[int] = field(default_factory=list)  # back, with a vector: must rejoin it


def scan_roots(
    lib: Library,
    paths: Sequence[Path],
    progress: IngestProgress | None = None,
    times: StageTimes | None = None,
) -> ScanOutcome:
    """Registers/resolves roots, reconciles each with its scan, re-queues stale vectors.

    Holds the roots' locks while reconciling (indexer/root_locks.py): a second scan or ingest
    of the same root waits instead of inserting the same new files.
    """
    check_folders(lib, paths)
    with locked_targets(lib, paths) as targets:
        return scan_targets(lib, targets, progress, times)


def scan_targets(
    lib: Library,
    targets: list[RootTarget],
    progress: IngestProgress | None = None,
    times: StageTimes | None = None,
) -> ScanOutcome:
    """`scan_roots` for resolved targets whose root locks the caller holds."""
    progress = progress or _Silent()
    times = times or StageTimes()
    model = lib.model_row
    out = ScanOutcome(targets, IngestSummary())
    seen = 0
    skipped: Counter[str] = Counter()
    for target in targets:
        problems: list[ScanProblem] = []
        t0 = time.perf_counter()
        with lib.sessions.begin() as session:
            files = _counted(
                scan_tree(
                    target.root_path,
                    extensions=scanned_extensions(lib.settings.raw_extension_set),
                    subdir=target.subdir,
                    exclude=[lib.settings.home],
                    on_problem=problems.append,
                    skipped=skipped,
                ),
                progress,
                seen,
            )
            result = reconcile(
                session, target, files, model.id, max_file_size=lib.settings.max_file_size
            )
            seen += result.new + result.changed + result.moved + result.unchanged
        times.add("scan", time.perf_counter() - t0)
        for name in ("new", "changed", "moved", "missing", "unchanged"):
            setattr(out.summary, name, getattr(out.summary, name) + getattr(result, name))
        out.summary.failures += [
            Failure(str(target.root_path / p.rel_path), p.reason) for p in problems
        ]
        out.removed_ids += result.removed_ids
        out.restored_ids += result.restored_ids
    out.summary.skipped = dict(sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])))
    with lib.sessions.begin() as session:
        mark_stale_for_model(session, model.id, [t.root_id for t in targets])
    return out


def check_folders(lib: Library, paths: Sequence[Path]) -> None:
    """Raises a one-line VitrieveError for a path that cannot be an ingest root."""
    for p in paths:
        if not Path(p).is_dir():
            raise VitrieveError(f"{p}: not a directory")
        refuse_data_dir(Path(p), lib.settings.home)


def apply_scan_to_index(lib: Library, index: VectorIndex, scan: ScanOutcome) -> None:
    index.remove(_ids(scan.removed_ids))
    add_from_sql(lib, index, scan.restored_ids)


def embed_items(
    lib: Library,
    items: Iterable[WorkItem],
    *,
    times: StageTimes | None = None,
    on_embedded: EmbeddedHook | None = None,
) -> Iterator[BatchOutcome]:
    """Reads, decodes and embeds items, committing one transaction per batch.

    The shared core of in-process ingest and the Celery embed task. `on_embedded` runs inside
    each batch's transaction (e.g. tagging new images), so its writes commit with the vectors.
    """
    times = times or StageTimes()
    embedder = lib.embedder
    model = lib.model_row
    workers = lib.settings.decode_workers or os.cpu_count() or 1
    from vitrieve.indexer.gpu_pipeline import (
        stream_for,  # nvJPEG front end on CUDA, else the CPU one
    )

    stream = stream_for(embedder.device, lib.settings)(
        items,
        embedder.spec,
        workers=workers,
        window=max(2 * embedder.batch_size, 4 * workers),
        times=times,
        thumb_dir=lib.settings.thumb_dir,
        limits=InputLimits.of(lib.settings),
    )
    for batch in batched(stream, embedder.batch_size):
        t0 = time.perf_counter()
        with lib.sessions.begin() as session:
            outcome = write_batch(session, batch, model.id, model.dim, embedder, times)
            if on_embedded is not None and len(outcome.embedded_ids):
                on_embedded(session, outcome)
        times.add("write", time.perf_counter() - t0)
        yield outcome


def ingest(
    lib: Library,
    paths: Sequence[Path],
    progress: IngestProgress | None = None,
    *,
    on_embedded: EmbeddedHook | None = None,
) -> IngestSummary:
    """The in-process pipeline: scan, reconcile, embed pending, keep the index in step.

    Holds the roots' locks throughout, so a second ingest of the same root (or of a folder in
    it) waits for this one and then finds nothing left to embed.
    """
    progress = progress or _Silent()
    started = time.perf_counter()
    check_folders(lib, paths)  # before the model loads: a wrong path fails at once
    lib.model_row  # noqa: B018 -- a missing model fails before anything is touched
    with locked_targets(lib, paths) as targets:
        return _ingest_locked(lib, targets, progress, on_embedded, started)


def _ingest_locked(
    lib: Library,
    targets: list[RootTarget],
    progress: IngestProgress,
    on_embedded: EmbeddedHook | None,
    started: float,
) -> IngestSummary:
    times = StageTimes()
    scan = scan_targets(lib, targets, progress, times)
    return embed_scanned(lib, scan, progress, times, on_embedded, started)


def embed_scanned(
    lib: Library,
    scan: ScanOutcome,
    progress: IngestProgress | None,
    times: StageTimes,
    on_embedded: EmbeddedHook | None,
    started: float,
) -> IngestSummary:
    """The rest of an ingest once its targets are reconciled (locks held by the caller): the
    index follows the scan, pending images of the targets are embedded, the index is saved.
    Shared by folder ingest and manifest ingest (indexer/listed.py)."""
    progress = progress or _Silent()
    summary = scan.summary
    index = lib.index()
    apply_scan_to_index(lib, index, scan)
    with lib.sessions() as session:
        total = count_pending(session, scan.targets)
    progress.embedding(0, total)
    done, last_save = 0, time.monotonic()
    # Nothing pending: torch and the model are never loaded (a no-op ingest is instant).
    batches = embed_items(
        lib, pending_items(lib, scan.targets), times=times, on_embedded=on_embedded
    )
    for outcome in batches if total else ():
        index.add(outcome.embedded_ids, outcome.vectors)
        summary.embedded += len(outcome.embedded_ids)
        summary.computed += outcome.computed
        summary.failures += [Failure(str(p.path), p.error or "") for p in outcome.failures]
        done += outcome.size
        progress.embedding(done, total)
        if time.monotonic() - last_save > SAVE_EVERY_S:
            index.save()
            last_save = time.monotonic()
    index.save()
    summary.failed = len(summary.failures)
    times.write -= times.embed  # the write stage's clock includes the forward passes
    summary.stages = times.as_dict()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


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


def add_from_sql(lib: Library, index: VectorIndex, ids: Sequence[int]) -> int:
    """Adds the current vectors of `ids` from SQL (only those still searchable) to the index."""
    model = lib.model_row
    added = 0
    for i in range(0, len(ids), 1000):  # bounded memory: 1000 vectors in flight
        got, vectors = vectors_by_ids(lib.sessions, model.id, model.dim, ids[i : i + 1000])
        index.add(got, vectors)
        added += len(got)
    return added


def _pending_filter(targets: Sequence[RootTarget], settled_before_ns: int | None = None):
    """Pending images of the targets; with `settled_before_ns`, only files whose scanned mtime
    is older than that (background jobs leave files that may still be being copied in)."""
    cond = (Image.status == ImageStatus.PENDING) & or_(
        *[(Image.root_id == t.root_id) & under_folder(t.subdir) for t in targets]
    )
    if settled_before_ns is not None:
        cond &= Image.mtime_ns <= settled_before_ns
    return cond


def count_pending(
    session, targets: Sequence[RootTarget], *, settled_before_ns: int | None = None
) -> int:
    return session.scalar(
        select(func.count()).select_from(Image).where(_pending_filter(targets, settled_before_ns))
    )


def pending_items(
    lib: Library,
    targets: Sequence[RootTarget],
    chunk: int = 2000,
    *,
    settled_before_ns: int | None = None,
) -> Iterator[WorkItem]:
    """Pending images by keyset pagination, so a million-file ingest never lists them all."""
    last = 0
    while True:
        with lib.sessions() as session:
            rows = session.execute(
                select(Image.id, Root.path, Image.rel_path)
                .join(Root)
                .where(_pending_filter(targets, settled_before_ns), Image.id > last)
                .order_by(Image.id)
                .limit(chunk)
            ).all()
        if not rows:
            return
        for image_id, root_path, rel_path in rows:
            yield WorkItem.in_root(image_id, root_path, rel_path)
        last = rows[-1][0]

"""Thumbnails made again from the originals: deleted, damaged, or a HOME copied without them.

Ingest makes a thumbnail only when it decodes a file, so an unchanged file whose thumbnail is
gone would never get one back. Two ways heal that: `repair_thumbnails` walks the catalog
(`vitrieve thumbs`), and `ensure_thumbnails` heals what a grid is about to show (the UI).
Both read the original, check that its bytes still hash to the catalog's content hash (a file
edited since its ingest would otherwise put the new picture under the old hash), decode it as
ingest does and write the WebP atomically, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, tuple_

from vitrieve.indexer.decode import DecodeError, decode_image
from vitrieve.indexer.library import Library
from vitrieve.indexer.limits import InputLimits
from vitrieve.indexer.reader import ReadError, content_hash, read_file
from vitrieve.indexer.thumbnails import THUMB_SIZE, thumbnail_ok, thumbnail_path, write_thumbnail
from vitrieve.tables.catalog import Image, ImageStatus, Root

_HASH = re.compile(r"^[0-9a-f]{32}$")
#: Rows whose content hash names a file ingest could decode (a pending row's file may have
#: changed since, which the hash check catches); failed and missing ones have nothing to show.
HEALABLE = (ImageStatus.EMBEDDED, ImageStatus.PENDING)
_PAGE = 1000
MAX_LISTED_FAILURES = 1000

ProgressFn = Callable[[int, int], None]  # (contents done, contents in all)


class ThumbnailError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ThumbSource:
    """One content hash and the catalog files that have it; any readable one will do."""

    content_hash: str
    paths: tuple[Path, ...]


@dataclass
class ThumbReport:
    contents: int = 0  # distinct contents (content hashes) of embedded and pending images
    missing: int = 0  # whose thumbnail was missing or did not decode (all of them with --all)
    remade: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), capped
    dry_run: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "contents": self.contents,
            "missing": self.missing,
            "remade": self.remade,
            "failed": self.failed,
            "failures": [{"path": p, "reason": r} for p, r in self.failures],
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
        }


def remake_thumbnail(
    path: Path,
    thumb_dir: Path,
    digest: str,
    limits: InputLimits = InputLimits(),
    *,
    root: Path | None = None,
) -> Path:
    """The thumbnail of `digest` made from `path`, or ThumbnailError saying why it cannot be.
    The original was admitted at ingest, but it is read and decoded under the same limits: it
    may have been swapped for a FIFO, a bomb or a symbolic link since, so no link below `root`
    (the root `path` lies in; None: its folder) is followed."""
    try:
        data = read_file(path, max_size=limits.max_file_size, root=root or path.parent)
    except ReadError as exc:
        raise ThumbnailError(exc.reason) from None
    if content_hash(data) != digest:
        raise ThumbnailError("changed since it was indexed (run vitrieve ingest on it)")
    try:
        decoded = decode_image(
            data, target_size=THUMB_SIZE, source=str(path), max_pixels=limits.max_image_pixels
        )
    except DecodeError as exc:
        raise ThumbnailError(exc.reason) from None
    except MemoryError:
        raise ThumbnailError("out of memory while decoding") from None
    try:
        return write_thumbnail(decoded.image, thumb_dir, digest, replace=True)
    except OSError as exc:
        raise ThumbnailError(f"cannot write thumbnail: {exc.strerror or exc}") from None


def root_of(path: Path, roots: Iterable[Path]) -> Path:
    """The deepest of `roots` that `path` lies below (as written), else `path`'s own folder:
    the folder below which no link is followed when `path` is read."""
    below = [r for r in roots if r in path.parents]
    return max(below, key=lambda r: len(r.parts)) if below else path.parent


def _heal(source: ThumbSource, thumb_dir: Path, everything: bool, dry_run: bool, roots: list[Path]):
    """(was missing, failure or None) for one content; tries each of its files in turn."""
    if not everything and thumbnail_ok(thumbnail_path(thumb_dir, source.content_hash)):
        return False, None
    if dry_run:
        return True, None
    failure = None
    for path in source.paths:
        try:
            remake_thumbnail(path, thumb_dir, source.content_hash, root=root_of(path, roots))
            return True, None
        except ThumbnailError as exc:
            failure = (str(path), exc.reason)
    return True, failure


def repair_thumbnails(
    lib: Library,
    *,
    everything: bool = False,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
    workers: int = 0,
) -> ThumbReport:
    """Checks the thumbnail of every embedded (or pending) image's content and remakes those
    missing or damaged (every one with `everything`). Decoding runs in `workers` threads (0: one
    per core); memory stays bounded by paging the catalog and a window of work in flight."""
    started = time.perf_counter()
    report = ThumbReport(dry_run=dry_run)
    thumb_dir = lib.settings.thumb_dir
    total = _count_contents(lib)
    workers = workers or os.cpu_count() or 1
    window = 4 * workers
    with lib.sessions() as session:
        roots = [Path(p) for p in session.scalars(select(Root.path))]

    def collect(future: Future) -> None:
        was_missing, failure = future.result()
        report.contents += 1
        report.missing += was_missing
        if failure is not None:
            report.failed += 1
            if len(report.failures) < MAX_LISTED_FAILURES:
                report.failures.append(failure)
        elif was_missing and not dry_run:
            report.remade += 1
        if progress is not None:
            progress(report.contents, total)

    if progress is not None:
        progress(0, total)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbs") as pool:
        in_flight: list[Future] = []
        for source in iter_sources(lib):
            in_flight.append(pool.submit(_heal, source, thumb_dir, everything, dry_run, roots))
            if len(in_flight) >= window:
                collect(in_flight.pop(0))
        for future in in_flight:
            collect(future)
    report.seconds = time.perf_counter() - started
    return report


def _count_contents(lib: Library) -> int:
    with lib.sessions() as session:
        return session.execute(
            select(func.count(func.distinct(Image.content_hash))).where(
                Image.status.in_(HEALABLE), Image.content_hash.is_not(None)
            )
        ).scalar_one()


def iter_sources(lib: Library) -> Iterator[ThumbSource]:
    """Every content hash of a HEALABLE image with its files, paged by (hash, id) so that an
    arbitrarily large catalog is never loaded at once."""
    after: tuple[str, int] | None = None
    current: str | None = None
    paths: list[Path] = []
    while True:
        query = (
            select(Image.content_hash, Image.id, Root.path, Image.rel_path)
            .join(Root)
            .where(Image.status.in_(HEALABLE), Image.content_hash.is_not(None))
            .order_by(Image.content_hash, Image.id)
            .limit(_PAGE)
        )
        if after is not None:
            query = query.where(tuple_(Image.content_hash, Image.id) > tuple_(*after))
        with lib.sessions() as session:
            rows = session.execute(query).all()
        for digest, image_id, root, rel_path in rows:
            assert digest is not None  # the query excludes NULL hashes
            if digest != current:
                if current is not None and _HASH.match(current):
                    yield ThumbSource(current, tuple(paths))
                current, paths = digest, []
            paths.append(Path(root) / rel_path)
            after = (digest, image_id)
        if len(rows) < _PAGE:
            break
    if current is not None and _HASH.match(current):
        yield ThumbSource(current, tuple(paths))


# -- on demand (the UI) -------------------------------------------------------------------------

_UNFIXABLE_MAX = 10_000
_unfixable: dict[tuple[str, str, int, int], str] = {}
_unfixable_lock = threading.Lock()


def ensure_thumbnails(
    thumb_dir: Path,
    sources: Iterable[tuple[str, Path]],
    workers: int = 4,
    *,
    roots: Iterable[Path] = (),
) -> dict[str, Path | None]:
    """The thumbnail of each (content hash, original file) pair, made now when it is missing or
    damaged; None where it cannot be (the file is gone, unreadable, changed or a link). A file
    that could not be used is not read again until it changes, so a grid redraw stays cheap.
    No link below the file's root (of `roots`, see `root_of`) is followed."""
    roots = list(roots)
    out: dict[str, Path | None] = {}
    todo: dict[str, Path] = {}
    for digest, path in sources:
        if not digest or not _HASH.match(digest) or digest in out or digest in todo:
            continue
        thumb = thumbnail_path(thumb_dir, digest)
        if thumbnail_ok(thumb):
            out[digest] = thumb
        elif _known_unfixable(digest, path):
            out[digest] = None
        else:
            todo[digest] = path
    if not todo:
        return out
    with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
        futures = {
            d: pool.submit(_remake_or_none, p, thumb_dir, d, root_of(p, roots))
            for d, p in todo.items()
        }
        for digest, future in futures.items():
            out[digest] = future.result()
    return out


def _remake_or_none(path: Path, thumb_dir: Path, digest: str, root: Path) -> Path | None:
    try:
        return remake_thumbnail(path, thumb_dir, digest, root=root)
    except ThumbnailError as exc:
        key = _unfixable_key(digest, path)
        if key is not None:
            with _unfixable_lock:
                if len(_unfixable) >= _UNFIXABLE_MAX:
                    _unfixable.clear()
                _unfixable[key] = exc.reason
        return None


def _unfixable_key(digest: str, path: Path) -> tuple[str, str, int, int] | None:
    try:
        st = path.lstat()  # a link swapped in is keyed as itself, never followed
    except OSError:
        return (digest, str(path), -1, -1)  # gone: remembered until it comes back
    return (digest, str(path), st.st_size, st.st_mtime_ns)


def _known_unfixable(digest: str, path: Path) -> bool:
    key = _unfixable_key(digest, path)
    with _unfixable_lock:
        return key in _unfixable

"""Ingest of listed files (a manifest) rather than of folders: the same stages as `ingest`.

A listed file must lie in a registered root, because the catalog stores paths relative to roots.
Files outside every root are refused in one line naming the manifest, unless the caller asks
(`add_root`, `vitrieve ingest --from-file LIST --add-root`) to register their common parent
folder as a root; that folder is not walked, only the listed files are looked at. Reconciling
with `listed_only` leaves the root's unlisted rows as they are. Missing, unreadable or
non-image entries are failures with their reason, never an aborted ingest.
"""

from __future__ import annotations

import os
import stat
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.catalog import RootTarget, list_roots, mark_stale_for_model, refuse_data_dir
from vitrieve.indexer.decode import IMAGE_EXTENSIONS
from vitrieve.indexer.ingest import (
    EmbeddedHook,
    Failure,
    IngestProgress,
    IngestSummary,
    ScanOutcome,
    embed_scanned,
)
from vitrieve.indexer.library import Library
from vitrieve.indexer.pipeline import StageTimes
from vitrieve.indexer.reconcile import reconcile
from vitrieve.indexer.root_locks import locked_targets
from vitrieve.indexer.scan import ScannedFile
from vitrieve.tables.catalog import Image

_CHUNK = 500  # rel paths per IN (...) query


@dataclass
class ListedOutcome:
    summary: IngestSummary
    new_root: Path | None = None  # the common parent registered for files outside every root
    ids: dict[Path, int] = field(default_factory=dict)  # listed path -> catalog id (found ones)


def ingest_listed(
    lib: Library,
    paths: Sequence[Path],
    source: str,
    progress: IngestProgress | None = None,
    *,
    add_root: bool = False,
    on_embedded: EmbeddedHook | None = None,
) -> ListedOutcome:
    """Ingests exactly the files `paths` (absolute) name; `source` names the list in messages."""
    started = time.perf_counter()
    paths = [_absolute(p) for p in paths]
    roots = [Path(r.path) for r in list_roots(lib.sessions)]
    outside = [p for p in paths if _root_of(p, roots) is None]
    new_root = _common_parent(outside, source, lib) if outside else None
    if outside and not add_root:
        raise VitrieveError(
            f"{source}: {len(outside)} listed files are outside every registered root "
            f"(first: {outside[0]}); add --add-root to register {new_root} as a root"
        )
    lib.model_row  # noqa: B018 -- a missing model fails before anything is touched
    folders: set[Path] = set()
    for p in paths:
        folder = _root_of(p, roots) or new_root
        assert folder is not None  # a path outside every root has the new root as its own
        folders.add(folder)
    failures: list[Failure] = []
    with locked_targets(lib, sorted(folders)) as targets:
        by_root: dict[int, list[ScannedFile]] = defaultdict(list)
        where: dict[Path, tuple[RootTarget, str]] = {}
        for p in paths:
            target = next(t for t in targets if t.root_path in p.parents)
            scanned = _stat(p, target.root_path, lib, failures)
            if scanned is not None:
                by_root[target.root_id].append(scanned)
                where[p] = (target, scanned.rel_path)
        times = StageTimes()
        scan = _reconcile(lib, targets, by_root, times)
        scan.summary.failures += failures
        summary = embed_scanned(lib, scan, progress, times, on_embedded, started)
    return ListedOutcome(summary, new_root if outside else None, _ids(lib, where))


def _absolute(p: Path) -> Path:
    """Absolute, with the folders' links resolved as root paths are (the file itself is not
    followed: the library reader refuses a link)."""
    p = Path(p).expanduser()
    return p.parent.resolve() / p.name


def _root_of(p: Path, roots: Sequence[Path]) -> Path | None:
    inside = [r for r in roots if r in p.parents]
    return max(inside, key=lambda r: len(r.parts)) if inside else None


def _common_parent(outside: Sequence[Path], source: str, lib: Library) -> Path:
    parent = Path(os.path.commonpath([str(p.parent) for p in outside]))
    if parent == Path(parent.anchor):
        raise VitrieveError(
            f"{source}: the listed files outside every registered root share no folder but "
            f"{parent}; ingest their folders as roots first"
        )
    refuse_data_dir(parent, lib.settings.home)
    return parent


def _stat(p: Path, root: Path, lib: Library, failures: list[Failure]) -> ScannedFile | None:
    """The listed file as a scan would see it, or a failure saying why it is not one."""
    ext = p.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        failures.append(Failure(str(p), f"not an image file name ({ext or 'no extension'})"))
        return None
    home = lib.settings.home.expanduser().resolve()
    if p == home or home in p.parents:
        failures.append(Failure(str(p), f"inside the vitrieve data directory {home}"))
        return None
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        failures.append(Failure(str(p), "no such file"))
        return None
    except OSError as exc:
        failures.append(Failure(str(p), exc.strerror or str(exc)))
        return None
    if not stat.S_ISREG(st.st_mode):
        failures.append(Failure(str(p), "not a regular file"))
        return None
    return ScannedFile(p.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns)


def _reconcile(
    lib: Library,
    targets: list[RootTarget],
    by_root: dict[int, list[ScannedFile]],
    times: StageTimes,
) -> ScanOutcome:
    model = lib.model_row
    out = ScanOutcome(targets, IngestSummary())
    t0 = time.perf_counter()
    for target in targets:
        with lib.sessions.begin() as session:
            result = reconcile(
                session,
                target,
                by_root.get(target.root_id, []),
                model.id,
                max_file_size=lib.settings.max_file_size,
                listed_only=True,
            )
        for name in ("new", "changed", "moved", "missing", "unchanged"):
            setattr(out.summary, name, getattr(out.summary, name) + getattr(result, name))
        out.removed_ids += result.removed_ids
        out.restored_ids += result.restored_ids
    with lib.sessions.begin() as session:
        mark_stale_for_model(session, model.id, [t.root_id for t in targets])
    times.add("scan", time.perf_counter() - t0)
    return out


def _ids(lib: Library, where: dict[Path, tuple[RootTarget, str]]) -> dict[Path, int]:
    by_root: dict[int, dict[str, Path]] = defaultdict(dict)
    for p, (target, rel) in where.items():
        by_root[target.root_id][rel] = p
    ids: dict[Path, int] = {}
    with lib.sessions() as session:
        for root_id, rels in by_root.items():
            names = list(rels)
            for i in range(0, len(names), _CHUNK):
                for image_id, rel in session.execute(
                    select(Image.id, Image.rel_path).where(
                        Image.root_id == root_id, Image.rel_path.in_(names[i : i + _CHUNK])
                    )
                ):
                    ids[rels[rel]] = image_id
    return ids

"""Compares one scan of a root with the catalog and records what changed.

Decisions, in order, for every file the scan saw:
- same path, same size and mtime: unchanged, not even re-read;
- same path, different size or mtime: changed, back to pending (its old vector leaves the index);
- new path whose bytes equal a row that is missing (gone from its old path, in this scan or an
  earlier one): moved, the row follows the file and keeps its vector;
- otherwise new, pending.
Rows the scan did not see become missing and leave the index; they stay in SQL so a later move
can reclaim them. Only files whose size matches a missing row are hashed here, so a first ingest
reads every file exactly once (in the embed stage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from vitrieve.indexer.catalog import RootTarget, under_folder
from vitrieve.indexer.limits import DEFAULT_MAX_FILE_SIZE
from vitrieve.indexer.reader import ReadError, content_hash, read_library_file
from vitrieve.indexer.scan import ScannedFile
from vitrieve.tables.catalog import Embedding, Image, ImageStatus

_CHUNK = 500  # rows per IN (...) query: well under SQLite's parameter limit


@dataclass
class ReconcileResult:
    new: int = 0
    changed: int = 0
    moved: int = 0
    missing: int = 0
    unchanged: int = 0
    # Image ids whose vector must leave the index (missing, or changed and now pending).
    removed_ids: list[int] = field(default_factory=list)
    # Image ids that came back (moved or reappeared) with a vector of the current model.
    restored_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Row:
    id: int
    size: int
    mtime_ns: int
    status: ImageStatus
    content_hash: str | None


def reconcile(
    session: Session,
    target: RootTarget,
    scanned: Iterable[ScannedFile],
    model_id: int,
    *,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    listed_only: bool = False,
) -> ReconcileResult:
    """With `listed_only` (a manifest's files, indexer/listed.py), `scanned` is a list, not
    a whole folder: rows it does not name are left as they are instead of becoming missing."""
    result = ReconcileResult()
    rows = {
        r.rel_path: _Row(r.id, r.size, r.mtime_ns, ImageStatus(r.status), r.content_hash)
        for r in session.execute(
            select(
                Image.id,
                Image.rel_path,
                Image.size,
                Image.mtime_ns,
                Image.status,
                Image.content_hash,
            ).where(Image.root_id == target.root_id, under_folder(target.subdir))
        )
    }
    fresh: list[ScannedFile] = []
    for f in scanned:
        row = rows.pop(f.rel_path, None)
        if row is None:
            fresh.append(f)
        elif (
            row.size == f.size and row.mtime_ns == f.mtime_ns and row.status != ImageStatus.MISSING
        ):
            result.unchanged += 1
        elif (
            row.status == ImageStatus.MISSING and row.size == f.size and row.mtime_ns == f.mtime_ns
        ):
            _restore(session, row.id, target.root_id, f, model_id, result)
            result.new += 1
        else:
            if row.status == ImageStatus.EMBEDDED:
                result.removed_ids.append(row.id)
            _set(
                session,
                row.id,
                size=f.size,
                mtime_ns=f.mtime_ns,
                status=ImageStatus.PENDING,
                error=None,
            )
            if row.status == ImageStatus.MISSING:
                result.new += 1
            else:
                result.changed += 1

    gone = {} if listed_only else {p: r for p, r in rows.items() if r.status != ImageStatus.MISSING}
    moved, hashes = _detect_moves(session, target, fresh, gone, model_id, result, max_file_size)
    new_rows = [
        {
            "root_id": target.root_id,
            "rel_path": f.rel_path,
            "size": f.size,
            "mtime_ns": f.mtime_ns,
            "status": ImageStatus.PENDING,
            "content_hash": hashes.get(f.rel_path),
        }
        for f in fresh
        if f.rel_path not in moved
    ]
    result.new += _insert_new(session, new_rows)
    for row in gone.values():
        if row.status == ImageStatus.EMBEDDED:
            result.removed_ids.append(row.id)
        _set(session, row.id, status=ImageStatus.MISSING)
        result.missing += 1
    session.flush()
    return result


def _detect_moves(
    session: Session,
    target: RootTarget,
    fresh: list[ScannedFile],
    gone: dict[str, _Row],
    model_id: int,
    result: ReconcileResult,
    max_file_size: int,
) -> tuple[set[str], dict[str, str]]:
    """Matches new files to missing rows by size, then by content hash.

    Returns the paths that were moves and the hashes computed on the way (kept on new rows).
    """
    moved: set[str] = set()
    hashes: dict[str, str] = {}
    if not fresh:
        return moved, hashes
    sizes = {f.size for f in fresh}
    # Candidates: rows gone in this scan, plus rows already missing anywhere in the catalog.
    by_hash: dict[str, int] = {}
    for row in gone.values():
        if row.size in sizes and row.content_hash:
            by_hash.setdefault(row.content_hash, row.id)
    size_list = sorted(sizes)
    for i in range(0, len(size_list), _CHUNK):
        for rid, h in session.execute(
            select(Image.id, Image.content_hash).where(
                Image.status == ImageStatus.MISSING,
                Image.size.in_(size_list[i : i + _CHUNK]),
                Image.content_hash.is_not(None),
            )
        ):
            assert h is not None  # the query excludes NULL hashes
            by_hash.setdefault(h, rid)
    pool_ids = set(by_hash.values())
    if not pool_ids:
        return moved, hashes
    candidate_sizes = {
        s for (s,) in session.execute(select(Image.size).where(Image.id.in_(pool_ids)))
    }
    gone_by_id = {r.id: p for p, r in gone.items()}
    for f in fresh:
        if f.size not in candidate_sizes:
            continue
        try:
            h = content_hash(
                read_library_file(target.root_path, f.rel_path, max_size=max_file_size)
            )
        except ReadError:
            continue  # the embed stage will record the reason
        hashes[f.rel_path] = h
        row_id = by_hash.pop(h, None)
        if row_id is None:
            continue
        _restore(session, row_id, target.root_id, f, model_id, result)
        if row_id in gone_by_id:
            del gone[gone_by_id[row_id]]
        moved.add(f.rel_path)
        result.moved += 1
    return moved, hashes


def _restore(
    session: Session,
    row_id: int,
    root_id: int,
    f: ScannedFile,
    model_id: int,
    result: ReconcileResult,
) -> None:
    """A row whose file is back: searchable again at once if its vector is from this model."""
    has_vector = (
        session.scalar(
            select(Embedding.image_id)
            .join(Image)
            .where(
                Embedding.image_id == row_id,
                Embedding.model_id == model_id,
                Embedding.content_hash == Image.content_hash,
            )
        )
        is not None
    )
    status = ImageStatus.EMBEDDED if has_vector else ImageStatus.PENDING
    _set(
        session,
        row_id,
        root_id=root_id,
        rel_path=f.rel_path,
        size=f.size,
        mtime_ns=f.mtime_ns,
        status=status,
        error=None,
    )
    if has_vector:
        result.restored_ids.append(row_id)


def _insert_new(session: Session, rows: list[dict]) -> int:
    """Inserts new rows, skipping paths another process inserted meanwhile; returns how many
    were inserted. Concurrent scans of a root take its lock (indexer/root_locks.py), so this
    is the safety net that keeps a race from ever ending in an IntegrityError."""
    dialects: dict[str, Callable[[type[Image]], sqlite.Insert | postgresql.Insert]] = {
        "sqlite": sqlite_insert,
        "postgresql": pg_insert,
    }
    insert = dialects[session.get_bind().dialect.name]
    inserted = 0
    for i in range(0, len(rows), _CHUNK):
        stmt = (
            insert(Image)
            .on_conflict_do_nothing(index_elements=["root_id", "rel_path"])
            .returning(Image.id)
        )
        inserted += len(session.execute(stmt, rows[i : i + _CHUNK]).all())
    return inserted


def _set(session: Session, row_id: int, **values) -> None:
    session.execute(Image.__table__.update().where(Image.id == row_id).values(**values))

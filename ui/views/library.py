"""Browsing the catalog for the UI: roots with their counts, folders, images by folder and date,
and the files that failed with their reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import and_, func, or_, select

from vitrieve.indexer import catalog
from vitrieve.indexer.catalog import RootRow, under_folder
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Image, ImageStatus, Root
from vitrieve.ui.views.grid import GridItem, day_bounds, grid_items


@dataclass(frozen=True, slots=True)
class FailedFile:
    image_id: int
    path: str
    reason: str
    when: datetime


def list_roots(lib: Library) -> list[RootRow]:
    return catalog.list_roots(lib.sessions)


def list_folders(lib: Library, root_id: int) -> list[str]:
    """Every folder of a root that holds catalogued images, relative ('' is the root itself)."""
    with lib.sessions() as session:
        rel_paths = session.scalars(
            select(Image.rel_path).where(
                Image.root_id == root_id, Image.status != ImageStatus.MISSING
            )
        )
        folders: set[str] = set()
        for rel in rel_paths:
            parent = PurePosixPath(rel).parent
            while str(parent) not in folders and str(parent) != ".":
                folders.add(str(parent))
                parent = parent.parent
    return ["", *sorted(folders)]


def browse(
    lib: Library,
    root_id: int,
    folder: str = "",
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[GridItem], int]:
    """Searchable images of a folder (and its sub-folders) by path, one page, plus the total."""
    lo, hi = day_bounds(date_from, date_to)
    where = [Image.root_id == root_id, Image.status == ImageStatus.EMBEDDED, under_folder(folder)]
    if date_from or date_to:
        lo_ns, hi_ns = _ns(lo), _ns(hi)
        where.append(
            or_(
                Image.captured_at.between(lo, hi),
                and_(Image.captured_at.is_(None), Image.mtime_ns.between(lo_ns, hi_ns)),
            )
        )
    with lib.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Image).where(*where)) or 0
        ids = session.scalars(
            select(Image.id).where(*where).order_by(Image.rel_path).limit(limit).offset(offset)
        ).all()
    return grid_items(lib, list(ids)), total


def recent_failures(lib: Library, limit: int = 200) -> list[FailedFile]:
    """Files that could not be read or decoded, newest first, with the recorded reason."""
    with lib.sessions() as session:
        rows = session.execute(
            select(Image.id, Root.path, Image.rel_path, Image.error, Image.updated_at)
            .join(Root)
            .where(Image.status == ImageStatus.FAILED)
            .order_by(Image.updated_at.desc(), Image.id.desc())
            .limit(limit)
        ).all()
    return [FailedFile(r[0], str(Path(r[1]) / r[2]), r[3] or "unknown reason", r[4]) for r in rows]


def _ns(moment: datetime) -> int:
    try:
        return int(moment.timestamp() * 1e9)
    except (OverflowError, ValueError, OSError):  # datetime.min / max
        return -(2**63) if moment.year < 1970 else 2**63 - 1

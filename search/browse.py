"""Browsing the catalog by folder and date: what the UI's library and example pickers list.

Folders are those holding catalogued images (missing ones do not keep a folder alive); a page
of a folder is its searchable images by path, filtered by photo date (`ImageSummary.taken`:
EXIF capture time, else file time) when a range is given.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePosixPath

from sqlalchemy import and_, func, or_, select

from vitrieve.indexer.catalog import under_folder
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.stacks import hidden_ids_query
from vitrieve.tables.catalog import Image, ImageStatus


def folders_of_root(lib: Library, root_id: int) -> list[str]:
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


def folder_page(
    lib: Library,
    root_id: int,
    folder: str,
    dates: tuple[datetime, datetime] | None,
    *,
    limit: int,
    offset: int,
) -> tuple[list[int], int]:
    """Ids of one page of the searchable images of a folder (and its sub-folders) by path, with
        their photo date in `dates` ([first, last], inclusive) when given, plus the total. A stack's
    members other than its cover are left out (the cover's card opens them)."""
    where = [
        Image.root_id == root_id,
        Image.status == ImageStatus.EMBEDDED,
        under_folder(folder),
        Image.id.not_in(hidden_ids_query()),  # a stack shows once, by its cover
    ]
    if dates is not None:
        lo, hi = dates
        where.append(
            or_(
                Image.captured_at.between(lo, hi),
                and_(Image.captured_at.is_(None), Image.mtime_ns.between(_ns(lo), _ns(hi))),
            )
        )
    with lib.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Image).where(*where)) or 0
        ids = session.scalars(
            select(Image.id).where(*where).order_by(Image.rel_path).limit(limit).offset(offset)
        ).all()
    return list(ids), total


def _ns(moment: datetime) -> int:
    try:
        return int(moment.timestamp() * 1e9)
    except (OverflowError, ValueError, OSError):  # datetime.min / max
        return -(2**63) if moment.year < 1970 else 2**63 - 1

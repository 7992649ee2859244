"""The files that could not be read or decoded, with the reason recorded for each.

`vitrieve failures` lists them. They live in the catalog as images with status `failed` (the
reason in `images.error`), so the list survives the ingest that found them, and a file that was
fixed leaves it on the next ingest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, or_, select

from vitrieve.indexer.catalog import under_folder
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Image, ImageStatus, Root
from vitrieve.tables.fsnames import display_path


@dataclass(frozen=True, slots=True)
class FailedImage:
    image_id: int
    path: str  # the file as the OS names it (see tables/fsnames.py)
    reason: str
    size: int
    when: datetime  # when the failure was recorded

    def to_dict(self) -> dict:
        return {
            "image_id": self.image_id,
            "path": display_path(self.path),
            "reason": self.reason,
            "size": self.size,
            "when": self.when.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class FailureList:
    failures: list[FailedImage]
    total: int  # all failed images in the folder; `failures` may be fewer (a limit)


def failed_images(
    lib: Library,
    *,
    folder: Path | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> FailureList:
    """Failed images by path (root, then relative path), or the newest failures first (the UI's
    library page), under `folder` (resolved, checked by `search.query.check_folder`) when
    given."""
    where = [Image.status == ImageStatus.FAILED]
    if folder is not None:
        where.append(_in_folder(lib, folder))
    with lib.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Image).join(Root).where(*where))
        rows = session.execute(
            select(Image.id, Root.path, Image.rel_path, Image.error, Image.size, Image.updated_at)
            .join(Root)
            .where(*where)
            .order_by(
                *(
                    (Image.updated_at.desc(), Image.id.desc())
                    if newest_first
                    else (Root.path, Image.rel_path)
                )
            )
            .limit(limit)
        ).all()
    return FailureList(
        [
            FailedImage(r[0], str(Path(r[1]) / r[2]), r[3] or "unknown reason", r[4], r[5])
            for r in rows
        ],
        total or 0,
    )


def _in_folder(lib: Library, folder: Path):
    """SQL condition: the image lies under `folder`, which may be a root, a folder in one, or a
    folder holding roots."""
    with lib.sessions() as session:
        roots = session.execute(select(Root.id, Root.path)).all()
    conditions = []
    for root_id, stored in roots:
        root = Path(stored)
        if root == folder or folder in root.parents:
            conditions.append(Image.root_id == root_id)
        elif root in folder.parents:
            sub = folder.relative_to(root).as_posix()
            conditions.append((Image.root_id == root_id) & under_folder(sub))
    return or_(*conditions) if conditions else Image.id.is_(None)

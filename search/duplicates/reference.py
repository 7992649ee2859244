"""Reference folders: images there are always kept (docs/DUPLICATES.md, Reference folders).

A reference folder is a registered root or any folder inside one, stored as (root, folder
relative to it) so the rule follows the root when it is remounted. A folder covers everything
below it; rules only add (marking a subfolder of a reference folder changes nothing, and a
subfolder cannot be exempted from its parent's rule: take the parent's off and mark the
subfolders wanted). An image in one is a keeper of its group like one the user chose with
`vitrieve dups keep`, so it is never a copy to quarantine; when two reference images duplicate
each other both stay, and the group's reason says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.catalog import ImageSummary
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import ImageStatus, Root
from vitrieve.tables.duplicates import ReferenceFolder
from vitrieve.tables.fsnames import display_path


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    root_id: int
    root: str
    rel_path: str  # "" for the whole root

    @property
    def path(self) -> str:
        return str(Path(self.root) / self.rel_path) if self.rel_path else self.root

    def to_dict(self) -> dict:
        return {"root_id": self.root_id, "path": self.path}


def list_references(session: Session) -> list[ReferenceRow]:
    rows = session.execute(
        select(ReferenceFolder.root_id, Root.path, ReferenceFolder.rel_path)
        .join(Root, Root.id == ReferenceFolder.root_id)
        .order_by(Root.path, ReferenceFolder.rel_path)
    ).all()
    return [ReferenceRow(r[0], r[1], r[2]) for r in rows]


class ReferenceFolders:
    """The reference folders of a catalog, asked image by image (no SQL per image)."""

    def __init__(self, rows: list[ReferenceRow]) -> None:
        self._by_root: dict[str, list[str]] = {}
        for r in rows:
            self._by_root.setdefault(r.root, []).append(r.rel_path)

    @classmethod
    def load(cls, session: Session) -> ReferenceFolders:
        return cls(list_references(session))

    def __bool__(self) -> bool:
        return bool(self._by_root)

    def folder_of(self, image: ImageSummary) -> str | None:
        """The reference folder holding the image (display form), or None."""
        return self._holding(image.root, image.rel_path)

    def folder_of_path(self, path: Path) -> str | None:
        """The reference folder holding the file at ``path`` (display form), or None."""
        for root in self._by_root:
            if Path(root) in path.parents:
                return self._holding(root, path.relative_to(root).as_posix())
        return None

    def _holding(self, root: str, rel_path: str) -> str | None:
        for rel in self._by_root.get(root, ()):
            if not rel or rel_path.startswith(rel + "/"):
                return display_path(str(Path(root) / rel) if rel else root)
        return None

    def among(self, images: Mapping[int, ImageSummary]) -> dict[int, str]:
        """Image id -> its reference folder, for the images that are in one."""
        if not self._by_root:
            return {}
        found = {i: self.folder_of(image) for i, image in images.items()}
        return {i: folder for i, folder in found.items() if folder is not None}


def set_reference(lib: Library, path: Path, on: bool = True) -> tuple[ReferenceRow, bool]:
    """Marks (or unmarks) a root or a folder inside one as a reference folder; returns it and
    whether anything changed."""
    target = path.expanduser().resolve()
    with lib.sessions.begin() as session:
        root = _root_of(session, target)
        rel = PurePosixPath(*target.relative_to(root.path).parts).as_posix()
        rel = "" if rel == "." else rel
        row = ReferenceRow(root.id, root.path, rel)
        have = session.scalar(
            select(ReferenceFolder.id).where(
                ReferenceFolder.root_id == root.id, ReferenceFolder.rel_path == rel
            )
        )
        if on and have is None:
            session.add(ReferenceFolder(root_id=root.id, rel_path=rel))
            return row, True
        if not on and have is not None:
            session.execute(delete(ReferenceFolder).where(ReferenceFolder.id == have))
            return row, True
        if not on:
            holder = ReferenceFolders(list_references(session)).folder_of(_probe(root, rel))
            if holder is not None:
                raise VitrieveError(
                    f"{display_path(target)} is not a reference folder itself: it is inside the "
                    f"reference folder {holder} (turn that one off instead)"
                )
        return row, False


def _probe(root: Root, rel: str) -> ImageSummary:
    """A stand-in image inside folder ``rel`` of ``root``, to ask which rule covers it."""
    inside = f"{rel}/x" if rel else "x"
    return ImageSummary(
        0, root.path, inside, 0, 0, None, None, None, None, ImageStatus.EMBEDDED, None, None
    )


def _root_of(session: Session, target: Path) -> Root:
    roots = sorted(session.scalars(select(Root)), key=lambda r: len(r.path), reverse=True)
    for root in roots:
        if target == Path(root.path) or Path(root.path) in target.parents:
            return root
    raise VitrieveError(
        f"{display_path(target)}: not a registered root or a folder inside one "
        "(add it with `vitrieve roots add DIR --reference`)"
    )

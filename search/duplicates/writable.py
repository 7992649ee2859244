"""Which copies sit in folders vitrieve cannot move files out of, said before anything is planned.

Moving a file out of a folder means removing its name there, which a read-only mount (the
Docker stack's `:ro` photo volume, a snapshot, a backup disk) or a folder without write
permission refuses. Quarantine would then leave every such copy in place, one failure each;
the Duplicates page and the dry run say so up front, per library root, instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from vitrieve.tables.catalog import Root

READ_ONLY_FS = "read-only file system"
NO_PERMISSION = "no permission to remove files from it"


@dataclass(frozen=True, slots=True)
class Blocked:
    """A library root (or a folder outside every root) whose copies cannot be moved."""

    folder: str
    reason: str
    files: int

    def to_dict(self) -> dict:
        return {"folder": self.folder, "reason": self.reason, "files": self.files}


def cannot_remove_from(folder: Path) -> str | None:
    """Why a file cannot be moved out of `folder`, or None as far as the system says it can.
    A folder that cannot be looked at is left to the move itself to report."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return READ_ONLY_FS
        if not os.access(folder, os.W_OK | os.X_OK):
            return NO_PERMISSION
    except OSError:
        return None
    return None


def blocked_roots(lib, paths: Iterable[str | Path]) -> list[Blocked]:
    """The roots holding any of `paths` that cannot be moved out of, with how many of them."""
    with lib.sessions() as session:
        roots = sorted((Path(p) for p in session.scalars(select(Root.path))), key=_depth)
    reasons: dict[Path, str | None] = {}
    found: dict[tuple[str, str], int] = {}
    for p in paths:
        folder = Path(p).parent
        if folder not in reasons:
            reasons[folder] = cannot_remove_from(folder)
        why = reasons[folder]
        if why is None:
            continue
        where = next((r for r in roots if r == folder or r in folder.parents), folder)
        found[(str(where), why)] = found.get((str(where), why), 0) + 1
    return [Blocked(folder, why, n) for (folder, why), n in sorted(found.items())]


def _depth(path: Path) -> int:
    return -len(path.parts)  # deepest root first: a root inside another is named itself


def blocked_words(blocked: list[Blocked], total: int) -> str:
    """One sentence for a person: how many of the `total` copies cannot move, and where."""
    n = sum(b.files for b in blocked)
    where = "; ".join(f"{b.folder}: {b.reason}" for b in blocked[:3])
    more = f"; and {len(blocked) - 3} more folders" if len(blocked) > 3 else ""
    return (
        f"{n} of the {total} copies are in folders vitrieve cannot move files out of "
        f"({where}{more}); quarantine leaves them in place. To clean up, make the photo "
        "folders writable for vitrieve (in Docker: a writable photo mount, docs/DUPLICATES.md)"
    )

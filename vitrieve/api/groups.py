"""What `Library.duplicates` returns: the groups `vitrieve dups` lists (or, with ``across``, the
leaks `vitrieve dups --across` lists) with the shapes data teams load them into.

`to_pandas` is one row per member, the columns of `vitrieve dups --json` plus the group;
`to_imagededup` is imagededup's `find_duplicates` shape, ``{file: [duplicate files]}`` with
every image considered as a key (an empty list when it has no duplicate), so a script written
for imagededup runs on vitrieve's groups unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from vitrieve.search.duplicates.across import Leak
from vitrieve.search.duplicates.groups import DupGroup

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True)
class DuplicateGroups(Sequence[DupGroup]):
    """Duplicate groups, keeper first in each; a sequence of `DupGroup`.

    With ``across``, each group is an image of an earlier set (the keeper) and the images of
    later sets that copy it; `leaks` lists them one per leaking image with its best match."""

    groups: tuple[DupGroup, ...]
    threshold: float | None  # None: exact duplicates only
    why: str  # where the threshold came from
    leaks: tuple[Leak, ...] | None = None  # set by duplicates(across=...)
    sets: tuple[str, ...] = ()  # the across folders, in order
    considered: Callable[[], list[str]] = field(default=list, repr=False, compare=False)

    @overload
    def __getitem__(self, index: int) -> DupGroup: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[DupGroup]: ...
    def __getitem__(self, index: int | slice) -> DupGroup | Sequence[DupGroup]:
        return self.groups[index]

    def __len__(self) -> int:
        return len(self.groups)

    def __iter__(self) -> Iterator[DupGroup]:
        return iter(self.groups)

    def to_dict(self) -> dict[str, Any]:
        """The `vitrieve dups --json` document (`--across`: the leaks' document)."""
        data: dict[str, Any] = {
            "threshold": self.threshold,
            "threshold_why": self.why,
            "groups": [g.to_dict() for g in self.groups],
        }
        if self.leaks is not None:
            data |= {"sets": list(self.sets), "leaks": [leak.to_dict() for leak in self.leaks]}
        return data

    def to_pandas(self) -> pandas.DataFrame:
        """One row per member (group, then `vitrieve dups --json`'s member fields); with
        ``across``, one row per leaking image (the columns of `dups --across --csv`)."""
        import pandas

        if self.leaks is not None:
            from vitrieve.search.duplicates.across import CSV_COLUMNS

            rows = [leak.to_dict() for leak in self.leaks]
            return pandas.DataFrame(rows, columns=list(CSV_COLUMNS))
        from vitrieve.search.duplicates.export import CSV_COLUMNS as MEMBER_COLUMNS

        members = [{"group": g.group, **m.to_dict()} for g in self.groups for m in g.members]
        return pandas.DataFrame(members, columns=list(MEMBER_COLUMNS))  # `dups --csv`'s columns

    def to_imagededup(self, relative_to: str | PathLike[str] | None = None) -> dict[str, list[str]]:
        """imagededup's ``{file: [duplicates]}``: every image considered is a key, each group's
        members list one another. Paths are relative to ``relative_to`` when given (as
        imagededup names files relative to its ``image_dir``), else absolute."""
        base = None if relative_to is None else Path(relative_to).expanduser().resolve()

        def name(path: str) -> str:
            if base is None:
                return path
            p = Path(path)
            return p.relative_to(base).as_posix() if p.is_relative_to(base) else path

        out: dict[str, list[str]] = {name(p): [] for p in self.considered()}
        for g in self.groups:
            paths = [name(m.path) for m in g.members]
            for p in paths:
                out.setdefault(p, []).extend(q for q in paths if q != p and q not in out[p])
        return out

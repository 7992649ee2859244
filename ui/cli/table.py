"""Lists of records on stdout: a table that fits the terminal, or one plain line per record.

Why one module: every listing command (search, dups, failures, roots list, jobs, tag list/show)
must stay readable at 80 columns and usable in a pipe, and they only do so if they all follow
the same two rules.

* **Terminal** (stdout is a tty): a rich table sized to the console. The file name is the first
  column and is never cut; the folder (or a root's whole path) is the last column and folds over
  at most two lines. When that does not fit, the folder moves to a second, dimmed line under
  the name, and less important columns (``Col.drop``) are left out before a name is wrapped.
* **Pipe** (stdout is not a tty): one record per line, fields separated by one TAB, in the order
  the command documents (README "Output in a terminal and in a pipe"), the full path always the
  last field, an empty field written as ``-``. Notes go to stderr and titles are left out (what
  a title says, such as a duplicate group's number, is a field of each record), so stdout holds
  records only.

In both forms every field, the path and the title go through ``text.shown``: control characters
(a newline, a TAB or an escape sequence in a file name) and undecodable bytes are shown as
``\\xNN``, so one record is one line and a file name cannot drive the terminal; and no cell
is ever read as rich markup (a name ``a[/red]x.jpg`` is shown as it is).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vitrieve.ui.cli.common import err, out
from vitrieve.ui.cli.text import shown

__all__ = ["Col", "Records", "is_plain", "note", "print_together"]

#: Narrowest a folding column is made before optional columns are dropped to make room.
MIN_FOLD = 16
#: The name column is as wide as the longest name, but at most this share of the screen (and
#: at least NAME_MIN): one very long name folds over two lines rather than squeezing every row.
NAME_SHARE = 0.45
NAME_MIN = 30
#: Spaces between two columns in the terminal form (no box: every column counts at 80).
GAP = 2
EMPTY = "-"


def is_plain(console: Console | None = None) -> bool:
    """True when `console` (stdout by default) is not a terminal: print one record per line."""
    return not (console or out).is_terminal


def note(text: str, console: Console | None = None) -> None:
    """A line that is not a record (a summary, a hint): on stdout for a terminal, on stderr in
    a pipe, so that what a script reads from stdout is records only."""
    console = console or out
    target = err if is_plain(console) else console
    # wrapped between words on a terminal; one line in a pipe
    target.print(Text(shown(text)), highlight=False, soft_wrap=not target.is_terminal)


@dataclass(frozen=True, slots=True)
class Col:
    header: str
    justify: Literal["left", "right"] = "left"
    fold: bool = False  # long free text (a reason, a label list): may wrap over lines
    name: bool = False  # the file name: one line whenever it fits the screen at all
    drop: int = 0  # 0: always shown; otherwise left out of a narrow table, highest first
    piped: bool = True  # False: the terminal's only, so a pipe's documented fields stay put


@dataclass(frozen=True, slots=True)
class _Row:
    values: tuple[str, ...]
    path: str | None
    style: str | None


@dataclass
class Records:
    """Rows of one listing. `path="file"`: each row names a file, shown as a name column first
    and a folder column last; `path="folder"`: each row names a folder, shown last, folding;
    None: no path. In the plain form the path is the row's last field, whole."""

    cols: Sequence[Col | str]
    path: Literal["file", "folder"] | None = None
    title: str | None = None  # the terminal form's only; a pipe gets records only
    lead: Sequence[str] = ()  # fields that start every plain record (the terminal has a title)
    rows: list[_Row] = field(default_factory=list)

    def add(self, *values: object, path: str | os.PathLike[str] | None = None, style=None) -> None:
        if len(values) != len(self.cols):
            raise ValueError(f"{len(values)} values for {len(self.cols)} columns")
        where = None if path is None else shown(path)
        self.rows.append(_Row(tuple(shown(v) for v in values), where, style))

    def print(self, console: Console | None = None) -> None:
        console = console or out
        if is_plain(console):
            self._print_plain(console)
        else:
            console.print(self.table(console.width))

    def _print_plain(self, console: Console) -> None:
        lead = [shown(f) for f in self.lead]
        kept = [not isinstance(c, Col) or c.piped for c in self.cols]
        for row in self.rows:
            values = [v for v, keep in zip(row.values, kept, strict=True) if keep]
            fields = [*lead, *values, *([] if self.path is None else [row.path or ""])]
            console.file.write("\t".join(f or EMPTY for f in fields) + "\n")
        console.file.flush()

    def _columns(self, stacked: bool) -> tuple[list[Col], list[list[Text]]]:
        """The terminal form's columns and cells: the path split into the name first and the
        folder last, or (`stacked`) the folder on a second, dimmed line under the name."""
        cols = [c if isinstance(c, Col) else Col(c) for c in self.cols]
        cells = [[Text(v) for v in r.values] for r in self.rows]
        if self.path == "file":
            cols = [Col("name", name=True), *cols]
            if not stacked:
                cols.append(Col("folder", fold=True))
            for cell, row in zip(cells, self.rows, strict=True):
                folder, name = os.path.split(row.path or "")
                if stacked:
                    cell.insert(0, Text.assemble(name, "\n", (folder, "dim")))
                else:
                    cell[:0] = [Text(name)]
                    cell.append(Text(folder))
        elif self.path == "folder":
            cols = [*cols, Col("path", fold=True)]
            for cell, row in zip(cells, self.rows, strict=True):
                cell.append(Text(row.path or ""))
        return cols, cells

    def table(self, width: int) -> Table:
        """The rich table for a console `width` columns wide (see `layout`)."""
        return self.drawn(self.plan(width))

    def plan(self, width: int) -> Plan:
        """Which columns, how wide, and whether the folder goes under the name (`layout`)."""
        # A file listing rather stacks the folder under the name than loses a column.
        plan = layout(*self._natural(False), width, last_resort=self.path != "file")
        if plan is None:
            plan = layout(*self._natural(True), width, last_resort=True, name_need=self._names())
        assert plan is not None  # a last resort always answers
        return plan

    def drawn(self, plan: Plan) -> Table:
        """The rich table of these rows laid out as `plan` says."""
        keep, widths, stacked = plan
        cols, cells = self._columns(stacked)
        table = Table(
            box=None,
            padding=(0, GAP // 2),
            pad_edge=False,
            collapse_padding=False,
            title=None if self.title is None else Text(shown(self.title)),
            title_justify="left",
            title_style="bold",
        )
        for i in keep:
            c = cols[i]
            table.add_column(
                c.header,
                justify=c.justify,
                width=widths[i],
                no_wrap=not (c.fold or c.name),
                overflow="fold",
            )
        for row, cell in zip(self.rows, cells, strict=True):
            table.add_row(*(cell[i] for i in keep), style=row.style)
        return table

    def _names(self) -> int:
        return max((cell_len(os.path.basename(r.path or "")) for r in self.rows), default=0)

    def _natural(self, stacked: bool) -> tuple[list[Col], list[int], bool, set[int]]:
        """Columns, their natural widths, and the columns empty in every row (left out)."""
        cols, cells = self._columns(stacked)
        natural = [
            max([cell_len(c.header), *(_widest_line(r[i]) for r in cells)])
            for i, c in enumerate(cols)
        ]
        empty = {i for i in range(len(cols)) if cells and not any(r[i].plain for r in cells)}
        return cols, natural, stacked, empty


def print_together(listings: Sequence[Records], console: Console | None = None) -> None:
    """Several listings of the same columns (the groups of `vitrieve dups`) in one layout: the
    same columns, widths and folder placement for all, planned on all their rows together, so
    the folder never jumps from its column to under the name between two groups."""
    console = console or out
    if not listings:
        return
    if is_plain(console):
        for records in listings:
            records.print(console)
        return
    first = listings[0]
    together = Records(first.cols, path=first.path, rows=[r for x in listings for r in x.rows])
    plan = together.plan(console.width)
    for records in listings:
        console.print(records.drawn(plan))


def _widest_line(text: Text) -> int:
    return max(cell_len(line) for line in text.plain.split("\n"))


Plan = tuple[list[int], list[int], bool]


def layout(
    cols: Sequence[Col],
    natural: Sequence[int],
    stacked: bool,
    empty: Collection[int],
    width: int,
    *,
    last_resort: bool = False,
    name_need: int = 0,
) -> Plan | None:
    """Which columns to show and how wide, for a screen `width` wide, or None when they cannot
    fit without cutting into a name or a folding column's MIN_FOLD. Columns `empty` in every
    row are left out.

    Fixed columns keep their natural width; the name column is as wide as the longest name but
    at most NAME_SHARE of the screen (a longer name folds); optional columns are dropped,
    highest `drop` first, until the rest fits; folding columns share what is left, none wider
    than it needs. The `last_resort` (the stacked form, folder under the name) always answers:
    its name column (names and folders) takes whatever the other columns leave, at least
    `name_need` (the longest name) when dropping optional columns makes that room.
    """
    cap = max(NAME_MIN, int(width * NAME_SHARE))
    natural = [
        min(n, cap) if c.name and not stacked else n for c, n in zip(cols, natural, strict=True)
    ]
    keep = [i for i in range(len(cols)) if i not in empty]

    def used(ids: list[int]) -> int:
        return GAP * (len(ids) - 1) + sum(
            _fold_min(natural[i]) if cols[i].fold else natural[i]
            for i in ids
            if not (stacked and cols[i].name)
        )

    def name_room(ids: list[int]) -> int:
        return width - used(ids)

    def fits(ids: list[int]) -> bool:
        if not stacked:
            return used(ids) <= width
        name = next((i for i in ids if cols[i].name), None)
        return name is None or name_room(ids) >= min(name_need, cap)

    if not last_resort:
        return (keep, _share(cols, natural, keep, width), stacked) if fits(keep) else None
    optional = sorted((i for i in keep if cols[i].drop), key=lambda i: (-cols[i].drop, -i))
    while not fits(keep) and optional:
        keep.remove(optional.pop(0))
    if stacked:  # the name column first takes its room, then the folding ones share the rest
        natural = [
            max(1, min(n, name_room(keep))) if c.name else n
            for c, n in zip(cols, natural, strict=True)
        ]
    return keep, _share(cols, natural, keep, width), stacked


def _fold_min(natural: int) -> int:
    """A folding column gets at least MIN_FOLD, and half of what it needs: two lines at most."""
    return min(natural, max(MIN_FOLD, (natural + 1) // 2))


def _share(cols: Sequence[Col], natural: Sequence[int], keep: list[int], width: int) -> list[int]:
    """Natural widths, the folding columns sharing what the fixed ones leave."""
    fixed = [i for i in keep if not cols[i].fold]
    widths = list(natural)
    folding = sorted((i for i in keep if cols[i].fold), key=lambda i: natural[i])
    spare = width - sum(natural[i] for i in fixed) - GAP * (len(keep) - 1)
    for n, i in enumerate(folding):  # water-filling: narrow ones take only what they need
        widths[i] = max(1, min(natural[i], spare // (len(folding) - n)))
        spare -= widths[i]
    return widths

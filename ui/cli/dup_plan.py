"""How `vitrieve dups quarantine` shows a plan.

On a terminal a plan reads group by group: a header line per group (id, kind, keeper, why it
was kept), then a line per move (similarity to the keeper, reason, size, src -> dst) and what
the keeper lacks, wrapped to the terminal's width. Piped, every move is one tab-separated
record carrying its group and keeper, so `grep`, `cut` and `sort` work on it line by line; the
summary then goes to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vitrieve.search.duplicates.plan import REASON_WORDS, Plan, PlannedMove
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.cli.common import err, out

if TYPE_CHECKING:
    from vitrieve.search.duplicates.quarantine import MoveReport

PLAN_COLUMNS = ("group", "kind", "keeper", "similarity", "reason", "size", "src", "dst")


def size_words(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _similarity(m: PlannedMove) -> str:
    return "?" if m.similarity is None else f"{m.similarity:.4f}"


def _lacks(m: PlannedMove) -> str:
    words = {"captured_at": "capture time", "camera": "camera", "gps": "GPS", "tags": "tags"}
    lacks = ", ".join(words[x] for x in m.metadata_keeper_lacks)
    gets = []
    if "captured_at" in m.metadata_keeper_lacks:
        gets.append("capture time")
    gets += [f"tag {t!r}" for t in m.tags_keeper_lacks]
    return f"keeper lacks {lacks}" + (f"; it inherits {', '.join(gets)}" if gets else "")


def print_plan(plan: Plan) -> None:
    """The moves of a plan (a dry run): grouped on a terminal, one record per line piped."""
    if not out.is_terminal:
        for g in plan.groups:
            for m in g.moves:
                fields = (g.group, g.kind, display_path(g.keeper_path), _similarity(m))
                rest = (m.reason, m.size, display_path(m.src), display_path(m.dst))
                print(*fields, *rest, sep="\t")
        return
    for g in plan.groups:
        why = f" · kept for: {g.keeper_reason}" if g.keeper_reason else ""
        exact = ", exact" if g.exact else ""
        out.print(
            f"group {g.group} · {g.kind}{exact}{why}", style="bold", highlight=False, markup=False
        )
        out.print(f"  keep    {display_path(g.keeper_path)}", highlight=False, markup=False)
        for m in g.moves:
            out.print(
                f"  {_similarity(m)}  {REASON_WORDS[m.reason]:<11} {size_words(m.size):>8}  "
                f"{display_path(m.src)}",
                highlight=False,
                markup=False,
            )
            out.print(f"      -> {display_path(m.dst)}", highlight=False, markup=False)
            if m.metadata_keeper_lacks:
                out.print(f"      {_lacks(m)}", style="yellow", highlight=False, markup=False)


def plan_summary(plan: Plan) -> str:
    t = plan.totals
    reasons = ", ".join(f"{v['files']} {REASON_WORDS[r]}" for r, v in sorted(t.by_reason.items()))
    kept = f"; {len(plan.left)} left in place by the filters" if plan.left else ""
    return (
        f"dry run: {t.files} files ({size_words(t.bytes)}) in {t.groups} groups would move to "
        f"{display_path(plan.dest)} ({reasons}){kept}; add --apply to move them"
    )


def moved_summary(result: MoveReport, dest: Path) -> str:
    """What `--apply` did; an undo is offered only for files that moved."""
    if not result.done:
        return f"moved no files to {display_path(dest)}; nothing to undo"
    return (
        f"moved {len(result.done)} files ({size_words(sum(m.size for m in result.done))}) to "
        f"{display_path(dest)}; batch {result.batch}. Undo: vitrieve dups undo --batch "
        f"{result.batch}"
    )


def print_summary(text: str) -> None:
    """The closing line: on stdout for a reader, on stderr when stdout is a pipe of records."""
    if out.is_terminal:
        out.print(text, highlight=False, markup=False)
    else:  # a log line: never broken
        err.print(text, highlight=False, markup=False, soft_wrap=True)

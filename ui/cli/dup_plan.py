"""How `vitrieve dups quarantine` shows a plan.

On a terminal a plan reads group by group: a header line per group (id, kind, keeper, why it
was kept), then a line per move (similarity to the keeper, reason, size, src -> dst) and what
the keeper lacks, wrapped to the terminal's width. Piped, every move is one tab-separated
record carrying its group and keeper, so `grep`, `cut` and `sort` work on it line by line; the
summary then goes to stderr. Names go through `text.shown` in both forms (README "Output in a
terminal and in a pipe"): a TAB, newline or escape sequence in a name neither splits a record
nor reaches the terminal, and ``[red]`` in a name is text, not markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vitrieve.search.duplicates.plan import REASON_WORDS, Plan, PlannedMove
from vitrieve.ui.cli.common import err, out
from vitrieve.ui.cli.table import EMPTY
from vitrieve.ui.cli.text import count, say, shown

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
                fields = (g.group, g.kind, g.keeper_path, _similarity(m), m.reason, m.size)
                record = [shown(f) or EMPTY for f in (*fields, m.src, m.dst)]
                out.file.write("\t".join(record) + "\n")
        out.file.flush()
        return
    for g in plan.groups:
        exact = ", exact" if g.exact else ""
        say(f"group {g.group} · {g.kind}{exact}", style="bold", wrap=True)
        if g.keeper_reason:
            say(f"  kept for: {g.keeper_reason}", wrap=True)
        say("  keep    ", g.keeper_path, wrap=True)
        for m in g.moves:
            head = f"  {_similarity(m)}  {REASON_WORDS[m.reason]:<11} {size_words(m.size):>8}  "
            say(head, m.src, wrap=True)
            say("      -> ", m.dst, wrap=True)
            if m.metadata_keeper_lacks:
                say(f"      {_lacks(m)}", style="yellow", wrap=True)


def plan_summary(plan: Plan) -> str:
    t = plan.totals
    reasons = ", ".join(f"{v['files']} {REASON_WORDS[r]}" for r, v in sorted(t.by_reason.items()))
    kept = f"; {len(plan.left)} left in place by the filters" if plan.left else ""
    return (
        f"dry run: {count(t.files, 'file')} ({size_words(t.bytes)}) in "
        f"{count(t.groups, 'group')} would move to {shown(plan.dest)} "
        f"({reasons}){kept}; add --apply to move them"
    )


def moved_summary(result: MoveReport, dest: Path) -> str:
    """What `--apply` did; an undo is offered only for files that moved."""
    if not result.done:
        return f"moved no files to {shown(dest)}; nothing to undo"
    return (
        f"moved {count(len(result.done), 'file')} "
        f"({size_words(sum(m.size for m in result.done))}) to "
        f"{shown(dest)}; batch {result.batch}. Undo: vitrieve dups undo --batch "
        f"{result.batch}"
    )


def print_summary(text: str) -> None:
    """The closing line: on stdout for a reader, on stderr when stdout is a pipe of records."""
    if out.is_terminal:
        say(text, wrap=True)
    else:  # a log line: never broken
        say(text, console=err)

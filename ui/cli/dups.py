"""`vitrieve dups ...` and `vitrieve eval dups`: near-duplicate review from the command line.

`vitrieve dups` lists the groups; `quarantine DIR` shows (and with --apply makes) the moves of
the non-keepers; `undo` puts a batch back; `ignore` and `keep` record decisions. Every dups
command first settles moves that an interrupted quarantine left half-recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import (
    TaskID,
)
from rich.table import Table

from vitrieve.core.errors import MAX_ID, VitrieveError
from vitrieve.ui.cli import table as listing
from vitrieve.ui.cli.common import emit_json, err, out
from vitrieve.ui.cli.dup_across import leaks_found, show_leaks
from vitrieve.ui.cli.dup_decisions import decisions_app
from vitrieve.ui.cli.settled import library_settled
from vitrieve.ui.cli.stacks import stack_group, stacks_app
from vitrieve.ui.cli.text import count, say
from vitrieve.ui.progress import counted_bars

app = typer.Typer(
    help="Find and clean up exact and near-duplicate images (docs/DUPLICATES.md).",
    invoke_without_command=True,
)
eval_app = typer.Typer(
    help="Evaluate detection quality against ground truth.", no_args_is_help=True
)


Threshold = Annotated[
    float | None,
    typer.Option(
        "--threshold", "-t", min=0.0, max=1.0, help="Cosine similarity for near-duplicates."
    ),
]
Strictness = Annotated[
    Literal["strict", "balanced", "loose"] | None,
    typer.Option(
        "--strictness",
        help="Along the calibrated curve (`vitrieve calibrate`): strict, balanced (default) or "
        "loose; ignored with --threshold.",
    ),
]
ExactOnly = Annotated[
    bool, typer.Option("--exact-only", help="Only identical bytes or identical pixels.")
]
Method = Annotated[
    Literal["auto", "exact", "ivf", "knn"],
    typer.Option(help="Pair search: auto, exact, ivf or knn.", show_default=True),
]
Nprobe = Annotated[int, typer.Option(min=1, help="IVF cells probed per vector (recall knob).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
Across = Annotated[
    list[Path] | None,
    typer.Option(
        "--across",
        help="Leakage across sets (repeat, reference set first: --across TRAIN --across TEST): "
        "images of a later folder that copy one of an earlier folder (docs/DUPLICATES.md).",
    ),
]


class _Progress:
    """search.duplicates.pairs.ProgressFn as rich bars on stderr (only on a terminal)."""

    def __init__(self) -> None:
        self._bars = counted_bars(err)
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _Progress:
        self._bars.start()
        return self

    def __exit__(self, *exc) -> None:
        self._bars.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._bars.add_task(stage, total=total)
        self._bars.update(self._tasks[stage], completed=done, total=total)


def _find(
    lib,
    threshold: float | None,
    exact_only: bool,
    method: str,
    nprobe: int,
    strictness: str | None = None,
):
    """The groups at --threshold if given, else at the threshold in force (calibrated or the
    fixed default: search/duplicates/threshold.py); the report says which and why."""
    from vitrieve.search.duplicates.find import find_duplicates

    chosen, why = _threshold(lib, threshold, exact_only, strictness)
    with _Progress() as progress:
        report = find_duplicates(
            lib,
            threshold=1.0 if chosen is None else chosen,
            exact_only=exact_only,
            method=method,
            nprobe=nprobe,
            progress=progress,
        )
    report.why = why
    return report


def _threshold(lib, threshold, exact_only: bool, strictness) -> tuple[float | None, str]:
    """(None for exact duplicates only, or the cosine threshold; where it comes from)."""
    from vitrieve.search.duplicates.threshold import threshold_in_force

    if exact_only:
        return None, "exact duplicates only"
    if threshold is None:
        return threshold_in_force(lib, strictness)
    return threshold, f"threshold {threshold:.3f} given with --threshold"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


@app.callback()
def dups(
    ctx: typer.Context,
    threshold: Threshold = None,
    strictness: Strictness = None,
    exact_only: ExactOnly = False,
    as_json: AsJson = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write every member of every group to FILE.")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="Groups shown as tables.")] = 20,
    method: Method = "auto",
    nprobe: Nprobe = 4,
    across: Across = None,
    parquet_file: Annotated[
        Path | None,
        typer.Option(
            "--parquet",
            help="With --across: write the leaks to FILE as Parquet "
            "(every image: vitrieve export --format parquet).",
        ),
    ] = None,
) -> None:
    """List duplicate groups: identical files, then near-duplicates by ViT similarity."""
    if ctx.invoked_subcommand is not None:
        return
    from vitrieve.search.duplicates.export import save_csv

    lib = library_settled()
    if across:
        chosen, why = _threshold(lib, threshold, exact_only, strictness)
        with _Progress() as progress:
            report = leaks_found(lib, across, chosen, why, progress)
        show_leaks(report, as_json, csv_file, limit, parquet_file)
        return
    if parquet_file is not None:
        raise typer.BadParameter(
            "--parquet goes with --across; vitrieve export --format parquet writes every image "
            "with its duplicate group",
            param_hint="--parquet",
        )
    report = _find(lib, threshold, exact_only, method, nprobe, strictness)
    if csv_file is not None:
        rows = save_csv(report.groups, csv_file)
        groups = count(len(report.groups), "group")
        say(f"wrote {count(rows, 'row')} ({groups}) to ", csv_file, console=err)
    if as_json:
        emit_json(report.to_dict())
        return
    exact = sum(g.exact_copies > 0 for g in report.groups)  # a near group's byte copy counts
    kind = "exact only" if report.threshold is None else f"threshold {report.threshold:.3f}"
    listing.note(  # in a pipe on stderr: stdout is one line per member
        f"{count(len(report.groups), 'group')} ({exact} with exact copies, "
        f"{len(report.groups) - exact} near only) among {count(report.images, 'image')}; "
        f"{kind}, {report.seconds:.1f}s"
    )
    if report.threshold is not None:
        listing.note(report.why)
    listing.print_together([_group_records(group) for group in report.groups[:limit]])
    if len(report.groups) > limit:
        more = len(report.groups) - limit
        listing.note(f"... {more} more groups: --json or --csv FILE lists all")


def _group_records(group) -> listing.Records:
    """One table per group (all laid out alike by `print_together`); piped, one line per
    member: group, exact|near, keep|exact|pair|-, id, score, resolution, format, size, date, path
    (README "Output in a terminal and in a pipe"). The group is named by its keeper; "exact"
    marks a member with the keeper's bytes or pixels, also in a near group."""
    kind = "exact" if group.exact else "near"
    copies = group.exact_copies
    if copies and not group.exact:
        kind += f", {copies} exact cop{'y' if copies == 1 else 'ies'}"
    records = listing.Records(
        [
            "keep",
            listing.Col("id", "right"),
            listing.Col("score", "right"),
            "resolution",
            listing.Col("format", drop=2),
            listing.Col("size", "right"),
            listing.Col("date", drop=1),
        ],
        path="file",
        title=f"group {group.group} ({kind}{', series' if group.kind == 'series' else ''})"
        + (f": {group.keeper_reason}" if group.keeper_reason else ""),
        lead=(str(group.group), "exact" if group.exact else "near"),
    )
    for m in group.members:
        records.add(
            "keep" if m.keeper else _mark(m.match),
            m.image_id,
            "" if m.similarity is None else f"{m.similarity:.4f}",
            f"{m.width}x{m.height}" if m.width else "",
            m.format or "",
            _mb(m.size),
            m.captured_at.strftime("%Y-%m-%d") if m.captured_at else "",
            path=m.path,
        )
    return records


def _mark(match: str) -> str:
    """A non-keeper's mark: "exact" for the keeper's bytes or pixels, "pair" for the JPEG/HEIF
    of the RAW above it (search/duplicates/raw_pairs.py)."""
    return {"bytes": "exact", "pixels": "exact", "pair": "pair"}.get(match, "")


@app.command()
def quarantine(
    dest: Annotated[Path, typer.Argument(help="Folder outside the library roots.")],
    apply: Annotated[bool, typer.Option("--apply", help="Move the files (default: dry run).")] = (
        False
    ),
    threshold: Threshold = None,
    strictness: Strictness = None,
    exact_only: ExactOnly = False,
    group: Annotated[
        list[int] | None,
        typer.Option("--group", min=1, max=MAX_ID, help="Only this group (repeatable)."),
    ] = None,
    min_similarity: Annotated[
        float | None,
        typer.Option(
            "--min-similarity",
            min=0.0,
            max=1.0,
            help="Only copies at least this similar to their keeper; the rest stay in place.",
        ),
    ] = None,
    as_json: AsJson = False,
    method: Method = "auto",
    nprobe: Nprobe = 4,
    across: Across = None,
) -> None:
    """Move non-keepers to DEST, mirroring their paths; a dry run (what, why, from which group)
    unless --apply. With --across: the images of later sets that leak from earlier ones."""
    from vitrieve.search.duplicates.across import leak_groups
    from vitrieve.search.duplicates.find import DupReport
    from vitrieve.search.duplicates.quarantine import apply_quarantine, plan_quarantine
    from vitrieve.search.duplicates.writable import blocked_roots, blocked_words
    from vitrieve.ui.cli.dup_plan import moved_summary, plan_summary, print_plan, print_summary

    lib = library_settled()
    if across:
        chosen, why = _threshold(lib, threshold, exact_only, strictness)
        leaks = leaks_found(lib, across, chosen, why)
        report = DupReport(chosen, "across", sum(leaks.images), leak_groups(lib, leaks))
    else:
        report = _find(lib, threshold, exact_only, method, nprobe, strictness)
    plan = plan_quarantine(
        lib,
        report.groups,
        dest,
        groups_only=group or None,
        exact_only=exact_only,
        min_similarity=min_similarity,
        threshold=report.threshold,
    )
    if not plan and not as_json:
        left = f" ({len(plan.left)} left in place by the filters)" if plan.left else ""
        say(f"nothing to move: no group has a copy besides its keepers{left}")
        return
    if not apply:
        blocked = blocked_roots(lib, [m.src for m in plan])
        if as_json:
            emit_json(
                {"applied": False, **plan.to_dict(), "read_only": [b.to_dict() for b in blocked]}
            )
            return
        print_plan(plan)
        print_summary(plan_summary(plan))
        if blocked:  # said before anything is attempted (a `:ro` photo mount in Docker)
            err.print(
                f"warning: {blocked_words(blocked, len(plan))}",
                style="yellow",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        return
    result = apply_quarantine(lib, plan)
    if as_json:
        emit_json({"applied": True, "plan": plan.to_dict(), **result.to_dict()})
    else:
        print_summary(moved_summary(result, plan.dest))
    for path, why in result.problems:
        say((path, "red"), ": ", why, console=err)
    if result.not_moved:
        raise VitrieveError(
            f"{result.not_moved} of the {len(plan)} planned files were not moved (listed above)"
        )


@app.command()
def undo(
    batch: Annotated[str | None, typer.Option(help="Batch to restore (default: latest).")] = None,
    list_batches: Annotated[bool, typer.Option("--list", help="List batches.")] = False,
    as_json: AsJson = False,
) -> None:
    """Put quarantined files back where they were."""
    from vitrieve.search.duplicates.quarantine import move_batches
    from vitrieve.search.duplicates.undo import undo_quarantine

    lib = library_settled()
    if list_batches:
        batches = move_batches(lib)
        if as_json:
            emit_json(batches)
            return
        for b in batches:
            counts = ", ".join(f"{b[s]} {s}" for s in ("moved", "restored", "failed") if s in b)
            say(f"{b['batch']}  {counts}")
        return
    result = undo_quarantine(lib, batch)
    if as_json:
        emit_json(result.to_dict())
    else:
        say(f"restored {count(len(result.done), 'file')} from batch {result.batch}")
    for path, why in result.problems:
        say((path, "red"), ": ", why, console=err)
    if result.problems:
        raise VitrieveError(
            f"{count(len(result.problems), 'file')} could not be restored (listed above)"
        )


@app.command()
def ignore(
    ids: Annotated[
        list[int] | None, typer.Argument(min=1, max=MAX_ID, help="Image ids: all their pairs.")
    ] = None,
    group: Annotated[
        list[int] | None,
        typer.Option("--group", min=1, max=MAX_ID, help="A group id: all pairs of its members."),
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Take the decision back.")] = False,
    threshold: Threshold = None,
    exact_only: ExactOnly = False,
) -> None:
    """Mark images as not duplicates of each other (survives re-ingests).

    A --group is recorded as one decision with its members, and --group G --remove takes it
    back even after the group has dissolved (see `vitrieve dups decisions`)."""
    from vitrieve.search.duplicates.decisions import (
        ignore_group,
        ignore_pairs,
        remove_group_ignores,
        unignore_pairs,
    )

    ids, group = list(ids or []), list(group or [])
    if not group and len(ids) < 2:
        raise typer.BadParameter("give two or more image ids, or --group GROUP_ID")
    lib = library_settled()
    with lib.sessions.begin() as session:
        pairs = (unignore_pairs if remove else ignore_pairs)(session, ids) if ids else 0
        removed = {g: remove_group_ignores(session, g) for g in group} if remove else {}
    if ids:
        out.print(f"{'removed' if remove else 'recorded'} {pairs} 'not duplicates' pairs")
    if remove:
        for g, n in removed.items():
            if n:
                out.print(f"removed the 'not duplicates' decision on group {g}")
        gone = [g for g, n in removed.items() if not n]
        if gone:  # recorded as pairs by an older version: the group must still exist
            _unignore_current_groups(lib, gone, threshold, exact_only)
        return
    if group:
        by_id = {g.group: g for g in _find(lib, threshold, exact_only, "auto", 4).groups}
        for gid in group:
            if gid not in by_id:
                raise VitrieveError(f"no duplicate group {gid} (see `vitrieve dups`)")
        with lib.sessions.begin() as session:
            for gid in group:
                made = ignore_group(session, gid, [m.image_id for m in by_id[gid].members])
                what = "already recorded" if made is None else f"recorded as group:{made}"
                say(f"group {gid}: 'not duplicates' {what}")


def _unignore_current_groups(lib, groups: list[int], threshold, exact_only: bool) -> None:
    from vitrieve.search.duplicates.decisions import unignore_pairs

    by_id = {g.group: g for g in _find(lib, threshold, exact_only, "auto", 4).groups}
    missing = [g for g in groups if g not in by_id]
    if missing:
        raise VitrieveError(
            f"no 'not duplicates' decision recorded for group {', '.join(map(str, missing))}, "
            "and no such group now (see `vitrieve dups decisions`)"
        )
    with lib.sessions.begin() as session:
        n = sum(unignore_pairs(session, [m.image_id for m in by_id[g].members]) for g in groups)
    say("removed ", count(n, "'not duplicates' pair"))


@app.command()
def keep(
    ids: Annotated[list[int], typer.Argument(min=1, max=MAX_ID, help="Image ids to keep.")],
    remove: Annotated[bool, typer.Option("--remove", help="Take the decision back.")] = False,
) -> None:
    """Mark images as keepers: never suggested for quarantine (survives re-ingests)."""
    from vitrieve.indexer.catalog import describe_images
    from vitrieve.search.duplicates.decisions import set_keepers

    lib = library_settled()
    with lib.sessions.begin() as session:
        changed = set_keepers(session, ids, keep=not remove)
        files = [d.path for d in describe_images(session, ids).values()]
    say(f"{'unmarked' if remove else 'marked'} {count(changed, 'keeper')}")
    for path in files:  # by their files: an id means nothing to the reader
        say("  ", path)


app.add_typer(decisions_app, name="decisions")
app.command("stack")(stack_group)
app.add_typer(stacks_app, name="stacks")


@eval_app.command("dups")
def eval_dups(
    truth: Annotated[
        Path, typer.Option("--truth", help="CSV of path,group or a folder per group.")
    ],
    thresholds: Annotated[
        str, typer.Option(help="START:STOP:STEP or a comma list.")
    ] = "0.80:0.99:0.01",
    as_json: AsJson = False,
    method: Method = "auto",
    nprobe: Nprobe = 4,
    grouping: Annotated[
        Literal["keeper", "components"],
        typer.Option(
            help="keeper: the keeper-centred groups `vitrieve dups` shows; components: the "
            "connected components it used before (chained members included), to compare."
        ),
    ] = "keeper",
) -> None:
    """Precision, recall and F1 of duplicate pairs over a sweep of thresholds, beside the fixed
    and calibrated thresholds `vitrieve dups` would use."""
    from vitrieve.search.duplicates.evaluate import evaluate, parse_thresholds

    sweep = parse_thresholds(thresholds)
    lib = library_settled()
    with _Progress() as progress:
        report = evaluate(
            lib, truth, sweep, method=method, nprobe=nprobe, grouping=grouping, progress=progress
        )
    if as_json:
        emit_json(report.to_dict())
        return
    # What `dups` would use (fixed, calibrated) first, then the given thresholds: one table.
    table = Table("threshold", "source", "precision", "recall", "F1", "TP", "FP", "FN")
    best = report.best
    labelled = [(c.label, c.row, "cyan") for c in report.compared]
    for label, r, style in [*labelled, *(("given", r, None) for r in report.rows)]:
        table.add_row(
            f"{r.threshold:.4f}" if label.startswith("calibrated") else f"{r.threshold:.2f}",
            label,
            f"{r.precision:.4f}",
            f"{r.recall:.4f}",
            f"{r.f1:.4f}",
            str(r.true_positives),
            str(r.false_positives),
            str(r.false_negatives),
            style="bold" if r is best else style,
        )
    out.print(
        f"{count(report.images, 'image')}, {count(report.true_pairs, 'true pair')}, "
        f"{report.grouping} groups",
        highlight=False,
    )
    say(report.calibration)
    out.print(table)
    if best is not None:
        out.print(f"best F1 {best.f1:.4f} at threshold {best.threshold:.2f}", highlight=False)
    if report.unmatched:
        err.print(f"{len(report.unmatched)} truth images are not searchable in the catalog")

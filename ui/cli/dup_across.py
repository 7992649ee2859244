"""`vitrieve dups --across TRAIN --across TEST`: the images of later sets that leak from earlier
ones (search/duplicates/across.py), as a listing, JSON or CSV; `dups quarantine DEST --across
...` plans their moves with the existing plan (ui/cli/dups.py hands over here)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vitrieve.ui.cli import table as listing
from vitrieve.ui.cli.common import emit_json, err
from vitrieve.ui.cli.text import count, say

if TYPE_CHECKING:  # imported when used: `vitrieve --help` never loads FAISS and the catalog
    from vitrieve.indexer.library import Library
    from vitrieve.search.duplicates.across import LeakReport


def leaks_found(
    lib: Library,
    folders: list[Path],
    threshold: float | None,
    why: str,
    progress=None,
) -> LeakReport:
    from vitrieve.search.duplicates.across import find_leaks

    report = find_leaks(lib, folders, threshold=threshold, progress=progress)
    report.why = why
    return report


def show_leaks(
    report: LeakReport,
    as_json: bool,
    csv_file: Path | None,
    limit: int,
    parquet_file: Path | None = None,
) -> None:
    """The leaks, one line per leaking image: set, similarity, match kind, id, path, and the
    earlier image it copies (piped: TAB-separated, README "Output in a terminal and in a
    pipe")."""
    from vitrieve.search.duplicates.across import save_leaks_csv, save_leaks_parquet

    if csv_file is not None:
        rows = save_leaks_csv(report, csv_file)
        say(f"wrote {count(rows, 'row')} to ", csv_file, console=err)
    if parquet_file is not None:
        rows = save_leaks_parquet(report, parquet_file)
        say(f"wrote {count(rows, 'row')} to ", parquet_file, console=err)
    if as_json:
        emit_json(report.to_dict())
        return
    sets = ", ".join(f"{i}: {count(n, 'image')}" for i, n in enumerate(report.images))
    kind = "exact only" if report.threshold is None else f"threshold {report.threshold:.3f}"
    listing.note(
        f"{count(len(report.leaks), 'leaking image')} across {len(report.sets)} sets "
        f"({sets}); {kind}, {report.seconds:.1f}s"
    )
    if report.threshold is not None and report.why:
        listing.note(report.why)
    records = listing.Records(
        [
            listing.Col("set", "right"),
            listing.Col("score", "right"),
            "match",
            listing.Col("id", "right", drop=2),
            listing.Col("copies", fold=True),
        ],
        path="file",
    )
    for leak in report.leaks[:limit]:
        records.add(
            leak.set_index,
            f"{leak.similarity:.4f}",
            leak.kind,
            leak.image_id,
            f"{leak.match_set}: {leak.match.path}",
            path=leak.path,
        )
    records.print()
    if len(report.leaks) > limit:
        listing.note(f"... {len(report.leaks) - limit} more: --json or --csv FILE lists all")

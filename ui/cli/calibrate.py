"""`vitrieve calibrate`: measure the near-duplicate threshold on this library's own photos.

The work is search/duplicates/calibrate.py; this prints its one-line result (or the whole curve
as JSON) and shows progress on a terminal. ``after_ingest`` is the same run, done without being
asked at the end of `vitrieve ingest` when one is due (search/duplicates/auto_calibrate.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from vitrieve.ui.cli.common import emit_json, err, open_library, out
from vitrieve.ui.cli.text import say
from vitrieve.ui.progress import counted_bars

if TYPE_CHECKING:
    from vitrieve.indexer.library import Library


def calibrate(
    images: Annotated[
        int | None,
        typer.Option(
            "--images", min=1, help="Photos to sample (default VITRIEVE_CALIBRATION_IMAGES)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Sample and edit seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result and curve as JSON.")] = (
        False
    ),
) -> None:
    """Measure the near-duplicate threshold on your photos (used by `dups` from then on)."""
    from vitrieve.search.duplicates.auto_calibrate import calibration_turn
    from vitrieve.search.duplicates.calibrate import calibrate as run

    lib = open_library()

    def waiting() -> None:
        say("waiting for another calibration of this library to finish", console=err)

    bars = counted_bars(err)
    task = bars.add_task("embedding edits", total=None)
    with calibration_turn(lib, on_wait=waiting), bars:
        result = run(
            lib,
            images=images,
            seed=seed,
            progress=lambda stage, done, total: bars.update(task, completed=done, total=total),
        )
    if as_json:
        emit_json(result.to_dict())
        return
    out.print(result.describe(), markup=False, highlight=False, soft_wrap=True)
    if (met := result.levels_met()) is not None:
        out.print(met, markup=False, highlight=False, soft_wrap=True)


def after_ingest(lib: Library) -> str | None:
    """Calibrate if due after an ingest: a line on stderr when it starts, a bar on a terminal;
    returns the one-line result (None when nothing was due). Never raises an Exception."""
    from vitrieve.search.duplicates.auto_calibrate import auto_calibrate

    bars = counted_bars(err)
    task = bars.add_task("calibrating", total=None)

    def starting() -> None:
        say(
            f"calibrating the near-duplicate threshold on up to {lib.settings.calibration_images}"
            " of your photos (once per model; VITRIEVE_AUTO_CALIBRATE=false skips it)",
            console=err,
        )
        bars.start()

    try:
        return auto_calibrate(
            lib,
            progress=lambda stage, done, total: bars.update(task, completed=done, total=total),
            on_start=starting,
        )
    finally:
        bars.stop()


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate)

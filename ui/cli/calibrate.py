"""`vitrieve calibrate`: measure the near-duplicate threshold on this library's own photos.

The work is search/duplicates/calibrate.py; this prints its one-line result (or the whole curve
as JSON) and shows progress on a terminal.
"""

from __future__ import annotations

from typing import Annotated

import typer

from vitrieve.ui.cli.common import emit_json, err, open_library, out
from vitrieve.ui.progress import counted_bars


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
    from vitrieve.search.duplicates.calibrate import calibrate as run

    lib = open_library()
    bars = counted_bars(err)
    task = bars.add_task("embedding edits", total=None)
    with bars:
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


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate)

"""After an ingest in this window: calibrate the near-duplicate threshold when one is due, as
`vitrieve ingest` does at its end (search/duplicates/auto_calibrate.py), so a user who only
ever adds folders from the Library page does not keep the fixed 0.90 either.

Queued jobs are not this module's: with a broker the worker that finishes the job queues the
`vitrieve.calibrate` task (worker/tasks.py). Never fails the ingest that came before it: every
refusal or error is the one line ``auto_calibrate`` returns, shown as a warning.
"""

from __future__ import annotations

import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.auto_calibrate import auto_calibrate


def calibrate_if_due(lib: Library) -> str | None:
    """Calibrates when due, with a line and a bar while it runs; shows and returns its one-line
    result (None, and nothing shown, when no calibration was due)."""
    note = st.empty()
    bar = st.empty()

    def starting() -> None:
        note.caption(
            f"calibrating the near-duplicate threshold on up to {lib.settings.calibration_images}"
            " of your photos (once per model; VITRIEVE_AUTO_CALIBRATE=false skips it)"
        )
        bar.progress(0.0, text="calibrating…")

    def progress(stage: str, done: int, total: int) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        bar.progress(fraction, text=f"calibrating: {stage} {done} / {total}")

    line = auto_calibrate(lib, progress=progress, on_start=starting)
    bar.empty()
    if line is None:
        return None
    if line.startswith("calibration "):  # skipped, failed or busy: worth a look
        note.warning(line, icon=":material/tune:")
    else:
        note.success(line, icon=":material/tune:")
    return line

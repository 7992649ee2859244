"""Library page: registered roots (watch, rescan, remove each), add a folder and ingest it, job
progress, failed files."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.tagging.apply import auto_tagger
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components import jobs, roots
from vitrieve.ui.components.calibration_after_ingest import calibrate_if_due
from vitrieve.ui.components.progress import StreamlitIngestProgress
from vitrieve.ui.components.session import library, shown_errors
from vitrieve.ui.views.library import list_roots, recent_failures


def _roots(lib: Library) -> None:
    st.subheader("Roots")
    roots.notice()
    rows = list_roots(lib)
    if not rows:
        st.info("No roots yet — add a folder below.", icon=":material/folder_open:")
        return
    st.dataframe(
        [
            {
                "folder": display_path(r.path),
                "images": r.images,
                "searchable": r.counts["embedded"],
                "pending": r.counts["pending"],
                "failed": r.counts["failed"],
                "missing": r.counts["missing"],
                "watched": r.watch,
                "on disk": r.exists,
                "added": r.added_at,
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )
    roots.watch_note(lib)
    for r in rows:
        roots.root_controls(lib, r)
        if not r.exists:
            st.warning(
                f"{display_path(r.path)} is not reachable (moved, or its disk is not mounted)."
            )


def _add_folder(lib: Library) -> None:
    st.subheader("Add a folder")
    background = jobs.available(lib)
    with st.form("ingest-form"):
        typed = st.text_input("Folder", placeholder="/home/me/Pictures")
        watch = False
        if background:
            watch = st.checkbox("Watch it: rescan automatically when files change")
        else:
            st.caption(
                "Ingests in this window (no broker configured for background jobs). Leaving "
                "the page stops it; everything embedded so far is kept and a rerun continues."
            )
        now = st.form_submit_button("Ingest now", icon=":material/play_arrow:")
        queued = background and st.form_submit_button(
            "Queue in the background", icon=":material/schedule:"
        )
    if not (now or queued):
        return
    if not typed.strip():
        st.error("Give the folder to ingest.")
        return
    folder = Path(typed.strip()).expanduser()
    with shown_errors():
        if watch:
            jobs.register_watched(lib, folder)
        if queued:
            job_id = jobs.submit(lib, [folder])
            st.success(f"Queued as job {job_id}; its progress shows below.")
            return
        # Active probes tag the new images as they are embedded, as they do in the workers.
        summary = ingest(lib, [folder], StreamlitIngestProgress(), on_embedded=auto_tagger(lib))
        roots.show_summary(summary)
        calibrate_if_due(lib)  # once per model, as at the end of `vitrieve ingest`


def _failures(lib: Library) -> None:
    st.subheader("Files that failed")
    failed = recent_failures(lib)
    if not failed:
        st.caption("None — every file read and decoded.")
        return
    st.dataframe(
        [{"file": display_path(f.path), "reason": f.reason, "when": f.when} for f in failed],
        hide_index=True,
        width="stretch",
    )


def main() -> None:
    st.title("Library")
    lib = library()
    _add_folder(lib)  # first, so the sections below show the catalog after the ingest
    with shown_errors():
        _roots(lib)
        jobs.progress_panel(lib)
        _failures(lib)


main()

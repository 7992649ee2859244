"""The Library page's controls for one registered root: watch it or not, make it a reference
folder (duplicate review always keeps its images) or not, rescan it, remove it.

Each calls the function the `vitrieve roots` commands call (worker.roots), so the UI and the
CLI cannot disagree about what removing or watching a root means. Removing forgets the root's
images in the catalog and the index; files on disk are never touched.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.catalog import RootRow
from vitrieve.indexer.ingest import IngestSummary, ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.reference import list_references, set_reference
from vitrieve.search.tagging.apply import auto_tagger
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components import jobs
from vitrieve.ui.components.calibration_after_ingest import calibrate_if_due
from vitrieve.ui.components.progress import StreamlitIngestProgress
from vitrieve.ui.components.session import shown_errors

NOTICE = "roots_notice"  # (kind, text) left by a callback for the next run to show
SUMMARY_KEYS = ("new", "changed", "moved", "missing", "unchanged", "failed")


def notice() -> None:
    """What the last root action did (callbacks cannot draw; they leave it here)."""
    kind, text = st.session_state.pop(NOTICE, (None, ""))
    if kind == "success":
        st.success(text, icon=":material/check:")
    elif kind == "error":
        st.error(text, icon=":material/error:")


def watch_note(lib: Library) -> None:
    if jobs.available(lib):
        st.caption(
            "Watched roots are rescanned by `vitrieve beat` (and a worker's file watcher) "
            "while those processes run; turning watching on queues a scan now."
        )
    else:
        st.caption(
            "No broker is configured (VITRIEVE_BROKER_URL), so nothing watches these folders: "
            "the flag is stored, but rescans happen only when `vitrieve worker` and "
            "`vitrieve beat` run with a broker, or when you press Rescan."
        )


def root_controls(lib: Library, root: RootRow) -> None:
    """One row per root, in a container keyed `root-{id}` (the browser test finds it so)."""
    shown = display_path(root.path)
    with lib.sessions() as session:
        refs = [r for r in list_references(session) if r.root_id == root.id]
    inner = [display_path(r.rel_path) for r in refs if r.rel_path]
    with st.container(border=True, key=f"root-{root.id}"):
        c1, c2, c5, c3, c4 = st.columns([6, 2, 2, 2, 2], vertical_alignment="center")
        c1.markdown(f"**{_md(shown)}**")
        c1.caption(
            f"{root.images} images · {root.counts['embedded']} searchable"
            + ("" if root.exists else " · not reachable")
            + (f" · reference folders inside: {', '.join(inner)}" if inner else "")
        )
        st.session_state[f"watch-{root.id}"] = root.watch  # the catalog's flag wins
        c2.toggle(
            "Watch", key=f"watch-{root.id}", on_change=_toggle_watch, args=(lib, root.id, shown)
        )
        st.session_state[f"reference-{root.id}"] = any(not r.rel_path for r in refs)
        c5.toggle(
            "Reference",
            key=f"reference-{root.id}",
            on_change=_toggle_reference,
            args=(lib, root.id, shown),
            help="Duplicate review always keeps the images of a reference folder and never "
            "plans them for quarantine (`vitrieve roots reference`).",
        )
        rescan = c3.button(
            "Rescan", key=f"rescan-{root.id}", icon=":material/refresh:", width="stretch"
        )
        with c4.popover("Remove", icon=":material/delete:", width="stretch"):
            st.markdown(
                f"Forget **{_md(shown)}**? Its {root.images} images leave the catalog and the "
                "index (and their tags). The files on disk are not touched; adding the folder "
                "again ingests them anew."
            )
            st.button(
                "Remove this root",
                key=f"remove-{root.id}",
                type="primary",
                on_click=_remove,
                args=(lib, root.id),
            )
        if rescan:
            _rescan(lib, root)


def _toggle_watch(lib: Library, root_id: int, shown: str) -> None:
    from vitrieve.worker.roots import add_root, find_root

    watch = bool(st.session_state.get(f"watch-{root_id}"))
    try:
        path = Path(find_root(lib, str(root_id)).path)
        if not path.is_dir():
            raise VitrieveError(f"{shown}: not reachable (moved, or its disk is not mounted)")
        root, watched = add_root(lib, path, watch)
        text = f"{display_path(root)}: {'watched' if watched else 'no longer watched'}."
        if watched and jobs.available(lib):
            text += f" Queued scan job {jobs.submit(lib, [root], 'watch')}."
        st.session_state[NOTICE] = ("success", text)
    except VitrieveError as exc:
        st.session_state[NOTICE] = ("error", display_path(str(exc)))


def _toggle_reference(lib: Library, root_id: int, shown: str) -> None:
    from vitrieve.worker.roots import find_root

    on = bool(st.session_state.get(f"reference-{root_id}"))
    try:
        set_reference(lib, Path(find_root(lib, str(root_id)).path), on)
        text = f"{shown}: " + (
            "a reference folder, its images are always kept."
            if on
            else "no longer a reference folder."
        )
        st.session_state[NOTICE] = ("success", text)
    except VitrieveError as exc:
        st.session_state[NOTICE] = ("error", display_path(str(exc)))


def _remove(lib: Library, root_id: int) -> None:
    from vitrieve.worker.roots import remove_root

    try:
        path, removed = remove_root(lib, str(root_id))
    except VitrieveError as exc:
        st.session_state[NOTICE] = ("error", display_path(str(exc)))
        return
    st.session_state[NOTICE] = (
        "success",
        f"Removed root {display_path(path)}: {removed} images left the catalog (files untouched).",
    )


def _rescan(lib: Library, root: RootRow) -> None:
    """Background when a broker is configured (like `vitrieve ingest --background`), else in
    this window, with the same progress, summary and calibration (when due) as a first
    ingest."""
    path = Path(root.path)
    with shown_errors():
        if not path.is_dir():
            raise VitrieveError(f"{display_path(path)}: not reachable (moved, or not mounted)")
        if jobs.available(lib):
            st.success(f"Queued rescan job {jobs.submit(lib, [path], 'rescan')}.")
            return
        summary = ingest(lib, [path], StreamlitIngestProgress(), on_embedded=auto_tagger(lib))
        show_summary(summary)
        calibrate_if_due(lib)


def show_summary(summary: IngestSummary) -> None:
    counts = ", ".join(f"{getattr(summary, k)} {k}" for k in SUMMARY_KEYS)
    rate = summary.embedded / summary.seconds if summary.seconds else 0.0
    st.success(
        f"Done in {summary.seconds:.1f} s: {counts}. "
        f"Embedded {summary.embedded} ({rate:.1f} img/s)."
    )
    if summary.failures:
        st.dataframe(
            [{"file": display_path(f.path), "reason": f.reason} for f in summary.failures],
            hide_index=True,
            width="stretch",
        )


def _md(text: str) -> str:
    """A path as Markdown text: its own *, _ or ` stay characters."""
    for ch in "\\*_`[]<>#":
        text = text.replace(ch, "\\" + ch)
    return text

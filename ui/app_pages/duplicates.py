"""Duplicates page: groups at a threshold side by side with the suggested keeper; choose the
keeper, mark "not duplicates", quarantine the others (with a confirmation step), undo; export.

Groups come from search.duplicates.find_duplicates and are kept in the session until the
threshold changes or a decision is recorded, so paging through them costs nothing.
"""

from __future__ import annotations

import io
from pathlib import Path

import streamlit as st

from vitrieve.indexer.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.decisions import keeper_ids
from vitrieve.search.duplicates.export import to_json, write_csv
from vitrieve.search.duplicates.find import DEFAULT_THRESHOLD, DupReport, find_duplicates
from vitrieve.search.duplicates.quarantine import apply_quarantine, move_batches, plan_quarantine
from vitrieve.search.duplicates.undo import undo_quarantine
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components import dups
from vitrieve.ui.components.session import empty_library_notice, library, shown_errors
from vitrieve.ui.views.library import list_roots

REPORT = "dup_report"  # (key, DupReport)
PLAN = "dup_plan"  # (dest, [PlannedMove]) awaiting confirmation
FLASH = "dup_flash"  # (kind, message, problems) of the last quarantine or undo
PER_PAGE = 10


def _report(lib: Library, threshold: float, exact_only: bool) -> DupReport:
    key = (threshold, exact_only, st.session_state.get(dups.CHANGED, 0))
    cached = st.session_state.get(REPORT)
    if cached is None or cached[0] != key:
        bar = st.progress(0.0, text="looking for duplicates…")

        def progress(stage: str, done: int, total: int) -> None:
            bar.progress(min(1.0, done / total) if total else 1.0, text=f"{stage} {done}/{total}")

        report = find_duplicates(lib, threshold=threshold, exact_only=exact_only, progress=progress)
        bar.empty()
        st.session_state[REPORT] = cached = (key, report)
        st.session_state.pop(PLAN, None)  # a plan of other groups must not be applied
    return cached[1]


def _export(report: DupReport) -> None:
    buf = io.StringIO()
    write_csv(report.groups, buf)
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(
        "Export CSV", buf.getvalue(), "duplicates.csv", "text/csv", icon=":material/download:"
    )
    c2.download_button(
        "Export JSON",
        to_json(report.to_dict()),
        "duplicates.json",
        "application/json",
        icon=":material/download:",
    )


def _groups(lib: Library, report: DupReport) -> None:
    pages = max(1, -(-len(report.groups) // PER_PAGE))
    page = st.number_input(f"Page (of {pages})", 1, pages, 1, key="dup_page") if pages > 1 else 1
    with lib.sessions() as session:
        chosen = keeper_ids(session)
    for group in report.groups[(page - 1) * PER_PAGE : page * PER_PAGE]:
        dups.group_card(lib, group, chosen)


def _quarantine(lib: Library, report: DupReport) -> None:
    st.subheader("Quarantine")
    st.caption(
        "Moves every non-keeper to a folder outside the library (mirroring its path); nothing "
        "is deleted, and a batch can be put back with Undo."
    )
    with st.form("plan-form"):
        dest = st.text_input("Quarantine folder", placeholder="/home/me/duplicates-quarantine")
        planned = st.form_submit_button("Plan the moves", icon=":material/checklist:")
    if planned:
        with shown_errors():
            if not dest.strip():
                st.error("Give the quarantine folder.")
                return
            folder = Path(dest.strip()).expanduser()
            st.session_state[PLAN] = (folder, plan_quarantine(lib, report.groups, folder))
    if PLAN not in st.session_state:
        return
    folder, plan = st.session_state[PLAN]
    if not plan:
        st.info("Nothing to move: every group has only keepers.")
        return
    size = sum(m.size for m in plan) / 1e6
    st.dataframe(
        [{"from": display_path(m.src), "to": display_path(m.dst), "group": m.group} for m in plan],
        hide_index=True,
        width="stretch",
    )
    sure = st.checkbox(
        f"Move these {len(plan)} files ({size:.1f} MB) to {folder}", key="dup_confirm"
    )
    st.button(
        f"Move {len(plan)} files",
        disabled=not sure,
        type="primary",
        key="dup_apply",
        on_click=_apply,
        args=(lib, folder, plan),
    )


def _apply(lib: Library, folder: Path, plan) -> None:
    """Callback, so the page that follows already shows the groups without the moved files."""
    st.session_state.pop(PLAN, None)
    st.session_state.pop("dup_confirm", None)
    _after(
        lambda: apply_quarantine(lib, plan),
        lambda r: f"Moved {len(r.done)} files to {folder} (batch {r.batch}).",
    )


def _restore(lib: Library, batch: str) -> None:
    _after(
        lambda: undo_quarantine(lib, batch),
        lambda r: f"Restored {len(r.done)} files from batch {r.batch}.",
    )


def _after(action, message) -> None:
    try:
        result = action()
    except VitrieveError as exc:
        st.session_state[FLASH] = ("error", display_path(str(exc)), [])
        return
    st.session_state[FLASH] = ("success", message(result), result.problems)
    st.session_state[dups.CHANGED] = st.session_state.get(dups.CHANGED, 0) + 1


def _flash() -> None:
    kind, text, problems = st.session_state.pop(FLASH, (None, None, []))
    if kind == "error":
        st.error(text)
    elif kind == "success":
        st.success(text)
    for path, why in problems:
        st.warning(display_path(f"{path}: {why}"))


def _undo(lib: Library) -> None:
    st.subheader("Undo a quarantine")
    batches = [b for b in move_batches(lib) if b.get("moved")]
    if not batches:
        st.caption("Nothing in quarantine.")
        return
    labels = {b["batch"]: f"{b['batch']} ({b['moved']} files in quarantine)" for b in batches}
    batch = st.selectbox("Batch", list(labels), format_func=labels.__getitem__, key="undo_batch")
    st.button(
        "Put these files back",
        icon=":material/undo:",
        key="undo_apply",
        on_click=_restore,
        args=(lib, batch),
    )


def main() -> None:
    st.title("Duplicates")
    lib = library()
    _flash()
    with shown_errors():
        if not list_roots(lib):
            empty_library_notice()
            return
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        threshold = c1.slider(
            "Similarity threshold", 0.80, 1.00, DEFAULT_THRESHOLD, 0.01, key="dup_threshold"
        )
        exact_only = c2.checkbox("Identical only", key="dup_exact")
        report = _report(lib, threshold, exact_only)
        exact = sum(g.exact for g in report.groups)
        st.markdown(
            f"**{len(report.groups)} groups** ({exact} identical, {len(report.groups) - exact} "
            f"near) among {report.images} images"
        )
        dups.undo_bar(lib)
        if not report.groups:
            st.info("No duplicates at this threshold.")
        else:
            _export(report)
            _groups(lib, report)
            _quarantine(lib, report)
        _undo(lib)


main()

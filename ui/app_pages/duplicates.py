"""Duplicates page, photos first: by default one group at a time (ui/components/dup_review.py,
a fragment driven by buttons and keys), or the list of all groups, every member reviewable
(paged, by similarity to the keeper, compared at full size); decisions (keep this one, not a
duplicate, not duplicates); quarantine with a dry-run preview and an undo, for one group, for
every exact copy at once, or for every group; the space each would reclaim; export. The
threshold, totals and quarantine folder sit in the sidebar; bulk clean-up, export and the undo
of any batch in a collapsed panel below.

Groups come from search.duplicates.find.find_duplicates and are kept in the session until the
threshold changes or a decision or move is recorded, so paging through them costs nothing.
"""

from __future__ import annotations

import io

import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.decisions import keeper_ids
from vitrieve.search.duplicates.export import to_json, write_csv
from vitrieve.search.duplicates.find import DupReport, find_duplicates
from vitrieve.search.duplicates.quarantine import move_batches
from vitrieve.ui.components import dup_calibration, dups, keeper_prefs
from vitrieve.ui.components import dup_quarantine as quarantine
from vitrieve.ui.components import dup_review as review
from vitrieve.ui.components.session import empty_library_notice, library, shown_errors
from vitrieve.ui.views.dups import exact_parts, human_size, page_count, totals
from vitrieve.ui.views.library import list_roots
from vitrieve.ui.views.words import count

REPORT = review.REPORT  # (key, DupReport)
PER_PAGE = 10  # groups per page
VIEW = "dup_view"  # one group at a time, or the list of all groups
REVIEW, LIST = "One group at a time", "All groups"
RUNS = "dup_page_runs"  # full runs of the page in this session


def _report(lib: Library, threshold: float, exact_only: bool, prefer: str) -> DupReport:
    key = (threshold, exact_only, prefer, st.session_state.get(quarantine.CHANGED, 0))
    cached = st.session_state.get(REPORT)
    if cached is None or cached[0] != key:
        bar = st.progress(0.0, text="looking for duplicates…")

        def progress(stage: str, done: int, total: int) -> None:
            bar.progress(min(1.0, done / total) if total else 1.0, text=f"{stage} {done}/{total}")

        report = find_duplicates(
            lib, threshold=threshold, exact_only=exact_only, progress=progress, prefer=prefer
        )
        bar.empty()
        st.session_state[REPORT] = cached = (key, report)
        quarantine.cancel()  # a plan of other groups must not be applied
    return cached[1]


def _summary(report: DupReport) -> None:
    exact = sum(g.exact_copies > 0 for g in report.groups)  # a near group's byte copy counts
    st.markdown(
        f"**{count(len(report.groups), 'group')}** ({exact} with identical copies, "
        f"{len(report.groups) - exact} near only) among {count(report.images, 'image')}"
    )
    t = totals(report.groups)
    st.metric("Images in groups", t.members)
    st.metric(
        "Reclaimable (all groups)", f"{human_size(t.reclaimable)} · {count(t.redundant, 'file')}"
    )
    st.metric(
        "Reclaimable (exact copies)",
        f"{human_size(t.exact_reclaimable)} · {count(t.exact_files, 'file')}",
    )


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


def _clean_up(lib: Library, report: DupReport) -> None:
    st.caption(
        "Quarantine moves files to a folder outside the library (mirroring their paths); nothing "
        "is deleted, every move is previewed first and can be put back with Undo."
    )
    quarantine.read_only_notice(lib, report.groups)
    exact = exact_parts(report.groups)
    c1, c2, _ = st.columns([1, 1, 2])
    with c1:
        quarantine.plan_button(
            lib,
            "exact",
            exact,
            "Resolve all exact duplicates",
            disabled=not exact,
            icon=":material/done_all:",
            help="Preview moving every identical copy (same bytes or same pixels) of every group; "
            "near duplicates stay.",
        )
    with c2:
        quarantine.plan_button(
            lib,
            "all",
            report.groups,
            "Plan the moves",
            icon=":material/checklist:",
            help="Preview moving every non-keeper of every group, near duplicates included.",
        )
    quarantine.preview(lib, "exact")
    quarantine.preview(lib, "all")


def _groups(lib: Library, report: DupReport) -> None:
    st.subheader("Groups")
    c1, c2, _ = st.columns([1, 1, 3])
    pages = page_count(len(report.groups), PER_PAGE)
    dups.clamp_page("dup_page", pages)
    page = int(c1.number_input(f"Page (of {pages})", 1, pages, 1, key="dup_page"))
    c2.selectbox("Members per group page", [6, 12, 24, 48], index=1, key=dups.PER_PAGE)
    with lib.sessions() as session:
        chosen = keeper_ids(session)
    for group in report.groups[(page - 1) * PER_PAGE : page * PER_PAGE]:
        dups.group_card(lib, group, chosen)


def _undo(lib: Library) -> None:
    st.subheader("Undo a quarantine")
    batches = [b for b in move_batches(lib) if b.get("moved")]
    if not batches:
        st.caption("Nothing in quarantine.")
        return
    labels = {
        b["batch"]: f"{b['batch']} ({count(b['moved'], 'file')} in quarantine)" for b in batches
    }
    batch = st.selectbox("Batch", list(labels), format_func=labels.__getitem__, key="undo_batch")
    st.button(
        "Put these files back",
        icon=":material/undo:",
        key="undo_apply",
        on_click=quarantine.restore,
        args=(lib, batch),
    )


def _threshold(lib: Library) -> tuple[float, bool]:
    """The similarity threshold and "identical only", chosen in the sidebar (the one place the
    page's threshold is chosen): a strictness on the measured curve, or a custom value."""
    threshold = dup_calibration.threshold_control(lib)
    exact_only = st.checkbox("Identical only", key="dup_exact")
    return threshold, exact_only


def _page_run() -> None:
    """A mark that only a run of the whole page changes (a decision in the review reruns just
    its fragment): the browser tests and benchmarks/dup_review_latency.py read it."""
    runs = st.session_state.get(RUNS, 0) + 1
    st.session_state[RUNS] = runs
    st.markdown(
        f'<span class="vitrieve-page-run" data-run="{runs}"></span>', unsafe_allow_html=True
    )


def main() -> None:
    lib = library()
    with st.sidebar:
        _page_run()
    with shown_errors():
        if not list_roots(lib):
            st.title("Duplicates")
            empty_library_notice()
            return
        with st.sidebar:
            if st.session_state.get(VIEW, REVIEW) != LIST:  # the photos get the main area's top
                st.header("Duplicates")
            threshold, exact_only = _threshold(lib)
            st.session_state.setdefault(VIEW, REVIEW)
            view = st.segmented_control(
                "Show", [REVIEW, LIST], key=VIEW, label_visibility="collapsed"
            )
            prefer = keeper_prefs.editor(lib)
            quarantine.destination()
            report = _report(lib, threshold, exact_only, prefer)
            _summary(report)
        if view != LIST:
            review.review(lib, lambda: _report(lib, threshold, exact_only, prefer))
        else:
            st.title("Duplicates")
            quarantine.flash(lib)
            dups.undo_bar(lib)
            if not report.groups:
                st.info("No duplicates at this threshold.")
            else:
                _groups(lib, report)
        dup_calibration.distribution_panel(lib, threshold)  # below the photos
        with st.expander("Clean up every group, export, undo a quarantine"):
            if report.groups:
                _clean_up(lib, report)
                _export(report)
            _undo(lib)


main()

"""Tags page: label examples, train a linear probe, read its cross-validated metrics and
confusion matrix, apply it to the collection, and browse the collection by tag and score."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.search.tagging.apply import apply_probe
from vitrieve.search.tagging.query import DEFAULT_MIN_SCORE
from vitrieve.search.tagging.train import TrainResult, train_from_folders, train_from_ids
from vitrieve.ui.components import charts, examples, lightbox
from vitrieve.ui.components.grid import thumbnail_grid
from vitrieve.ui.components.session import library, shown_errors
from vitrieve.ui.views.tags import ProbeInfo, probe_list, tag_labels, tagged_grid

BROWSE_PAGE = 30


def _train(lib: Library) -> None:
    st.subheader("2. Train a probe")
    chosen = {label: ids for label, ids in examples.examples().items() if ids}
    with st.form("train-form"):
        name = st.text_input("Probe name", placeholder="animals", key="probe_name")
        st.caption(
            "Training again under the same name adds a new version. Needs at least two labels "
            "with two images each; metrics come from k-fold cross-validation."
        )
        go = st.form_submit_button(
            "Train on the examples", icon=":material/model_training:", disabled=not chosen
        )
    if go:
        with shown_errors(), st.spinner("Training (cross-validation, calibration)…"):
            result = train_from_ids(lib, name, chosen)
            _trained(result)
    with st.expander("…or train from label folders (FOLDER/cats/*.jpg → cats)"):
        with st.form("train-folders-form", border=False):
            folder = st.text_input("Folder of label folders", key="label_folder")
            fname = st.text_input("Probe name", key="folder_probe_name")
            go_folders = st.form_submit_button("Train from folders")
        if go_folders:
            with shown_errors(), st.spinner("Training…"):
                _trained(train_from_folders(lib, fname, Path(folder.strip()).expanduser()))


def _trained(result: TrainResult) -> None:
    m = result.metrics
    st.success(
        f"Trained {result.name} v{result.version}: {m['images']} images, "
        f"{len(result.classes)} labels, accuracy {m['accuracy']:.3f}, "
        f"macro-F1 {m['macro_f1']:.3f} ({m['folds']}-fold cross-validation)."
    )


def _metrics(probe: ProbeInfo) -> None:
    m = probe.metrics
    cols = st.columns(4)
    cols[0].metric("Accuracy", f"{m.get('accuracy', 0):.3f}")
    cols[1].metric("Macro-F1", f"{m.get('macro_f1', 0):.3f}")
    cols[2].metric("Images", m.get("images", 0))
    cols[3].metric("Folds", m.get("folds", 0))
    st.caption(f"{m.get('mode', '')} · {m.get('estimator', '')} · {m.get('calibration', '')}")
    per_class = m.get("per_class") or {}
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(
            [
                {
                    "label": label,
                    "precision": round(v["precision"], 3),
                    "recall": round(v["recall"], 3),
                    "f1": round(v["f1"], 3),
                    "images": v["support"],
                }
                for label, v in per_class.items()
            ],
            hide_index=True,
            width="stretch",
        )
    with right:
        charts.confusion_matrix(m)


def _probes(lib: Library) -> None:
    st.subheader("3. Probes")
    probes = probe_list(lib)
    if not probes:
        st.caption("No probes yet.")
        return
    names = [p.name for p in probes]
    name = st.selectbox("Probe", names, key="probe_pick")
    probe = probes[names.index(name)]
    st.markdown(
        f"**{probe.name} v{probe.version}** · labels: {', '.join(probe.classes)} · "
        + ("auto-tags new images" if probe.active else "inactive")
    )
    if not probe.current_model:
        st.warning("Trained on other model weights: retrain it before applying.")
    _metrics(probe)
    if st.button("Apply to the collection", icon=":material/sell:", key="apply"):
        with shown_errors():
            total = max(1, len(lib.index()))
            bar = st.progress(0.0, text="tagging…")
            summary = apply_probe(
                lib,
                probe.name,
                progress=lambda n: bar.progress(min(1.0, n / total), text=f"scored {n} images"),
            )
            bar.progress(1.0, text="done")
            st.success(
                f"Tagged {summary.images} images with {summary.name} v{summary.version} "
                f"({summary.tags} tag rows) in {summary.seconds:.1f} s."
            )


def _browse(lib: Library) -> None:
    st.subheader("4. Browse by tag")
    labels = tag_labels(lib)
    if not labels:
        st.caption("No tags yet: train a probe and apply it.")
        return
    c1, c2, c3 = st.columns([2, 2, 1])
    label = c1.selectbox("Tag", labels, key="browse_tag")
    min_score = c2.slider("Minimum score", 0.0, 1.0, DEFAULT_MIN_SCORE, 0.05, key="browse_min")
    page = c3.number_input("Page", min_value=1, value=1, step=1, key="browse_page")
    items, total = tagged_grid(
        lib, label, min_score, limit=BROWSE_PAGE, offset=(page - 1) * BROWSE_PAGE
    )
    st.caption(f"{total} images tagged {label} at score ≥ {min_score:.2f} (manual tags: 1.0)")
    thumbnail_grid(items, key="tagged", columns=6, score_label="tag score")


def main() -> None:
    st.title("Tags")
    lib = library()
    st.subheader("1. Pick examples")
    with shown_errors():
        examples.picker(lib)
    examples.summary()
    _train(lib)
    with shown_errors():
        _probes(lib)
        _browse(lib)
    lightbox.show_requested(lib)


main()

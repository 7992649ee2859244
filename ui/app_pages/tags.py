"""Tags page: label examples, train a tagger (a linear probe), read how well it did and its
confusion matrix, apply it to the collection, and browse the collection by tag and score.

Plain words first (tagger, pictures, "right on held-back pictures"); the ML terms (probe,
macro-F1, folds, calibration) are under "Details". The tagger just trained is the one shown and
the one "Apply" names and applies."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.search.tagging.apply import apply_probe
from vitrieve.search.tagging.query import DEFAULT_MIN_SCORE
from vitrieve.search.tagging.train import TrainResult, train_from_folders, train_from_ids
from vitrieve.ui.cli.text import count
from vitrieve.ui.components import charts, examples, lightbox
from vitrieve.ui.components.grid import thumbnail_grid
from vitrieve.ui.components.session import library, shown_errors
from vitrieve.ui.views.tags import ProbeInfo, probe_list, tag_labels, tagged_grid

BROWSE_PAGE = 30


PICKED = "probe_pick"  # the probe shown in section 3, the one "Apply" applies


def _train(lib: Library) -> None:
    st.subheader("2. Train a tagger")
    chosen = {label: ids for label, ids in examples.examples().items() if ids}
    with st.form("train-form"):
        name = st.text_input("Tagger name", placeholder="animals", key="probe_name")
        st.caption(
            "Training again under the same name makes a new version. It needs at least two "
            "labels with two pictures each."
        )
        go = st.form_submit_button(
            "Train on the examples", icon=":material/model_training:", disabled=not chosen
        )
    if go:
        with shown_errors(), st.spinner("Training…"):
            result = train_from_ids(lib, name, chosen)
            _trained(result)
    with st.expander("…or train from label folders (FOLDER/cats/*.jpg → cats)"):
        with st.form("train-folders-form", border=False):
            folder = st.text_input("Folder of label folders", key="label_folder")
            fname = st.text_input("Tagger name", key="folder_probe_name")
            go_folders = st.form_submit_button("Train from folders")
        if go_folders:
            with shown_errors(), st.spinner("Training…"):
                _trained(train_from_folders(lib, fname, Path(folder.strip()).expanduser()))


def _trained(result: TrainResult) -> None:
    """Says what was trained in plain words, and makes it the tagger shown (and applied)
    below: the selection never stays on an older one."""
    st.session_state[PICKED] = result.name
    m = result.metrics
    st.success(
        f"Trained {result.name} v{result.version} on {count(m['images'], 'picture')} with "
        f"{count(len(result.classes), 'label')}: it labelled {m['accuracy']:.0%} of them right "
        "when each was held back from its training."
    )
    with st.expander("Details"):
        st.caption(
            f"Linear probe · accuracy {m['accuracy']:.3f} · macro-F1 {m['macro_f1']:.3f} · "
            f"{m['folds']}-fold cross-validation"
        )


def _metrics(probe: ProbeInfo) -> None:
    m = probe.metrics
    cols = st.columns(3)
    cols[0].metric("Right on held-back pictures", f"{m.get('accuracy', 0):.0%}")
    cols[1].metric("Pictures", m.get("images", 0))
    cols[2].metric("Labels", len(probe.classes))
    charts.confusion_matrix(m)
    with st.expander("Details"):
        cols = st.columns(3)
        cols[0].metric("Accuracy", f"{m.get('accuracy', 0):.3f}")
        cols[1].metric("Macro-F1", f"{m.get('macro_f1', 0):.3f}")
        cols[2].metric("Folds", m.get("folds", 0))
        st.caption(
            f"linear probe · {m.get('mode', '')} · {m.get('estimator', '')} · "
            f"{m.get('calibration', '')}"
        )
        per_class = m.get("per_class") or {}
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


def _probes(lib: Library) -> None:
    st.subheader("3. Taggers")
    probes = probe_list(lib)
    if not probes:
        st.caption("No taggers yet.")
        return
    names = [p.name for p in probes]
    if st.session_state.get(PICKED) not in names:
        st.session_state.pop(PICKED, None)  # a tagger gone since: show the first one
    name = st.selectbox("Tagger", names, key=PICKED)
    probe = probes[names.index(name)]
    st.markdown(
        f"**{probe.name} v{probe.version}** · labels: {', '.join(probe.classes)} · "
        + ("tags new pictures as they are added" if probe.active else "inactive")
    )
    if not probe.current_model:
        st.warning("Trained on other model weights: retrain it before applying.")
    _metrics(probe)
    applied = f"{probe.name} v{probe.version}"
    if st.button(f"Apply {applied} to the collection", icon=":material/sell:", key="apply"):
        with shown_errors():
            total = max(1, len(lib.index()))
            bar = st.progress(0.0, text="tagging…")
            summary = apply_probe(
                lib,
                probe.name,
                progress=lambda n: bar.progress(
                    min(1.0, n / total), text=f"tagged {count(n, 'picture')}"
                ),
            )
            bar.progress(1.0, text="done")
            st.success(
                f"Tagged {count(summary.images, 'image')} with {summary.name} v{summary.version} "
                f"in {summary.seconds:.1f} s."
            )


def _browse(lib: Library) -> None:
    st.subheader("4. Browse by tag")
    labels = tag_labels(lib)
    if not labels:
        st.caption("No tags yet: train a tagger and apply it.")
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

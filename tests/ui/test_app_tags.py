"""Tags page: label examples from a folder, train a probe, see its metrics and confusion
matrix, apply it, browse by tag; and the search page's tag filter."""

from __future__ import annotations

from pathlib import Path

from tests.support import card_paths, jpeg_bytes, result_paths, texts
from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import image_id_of_path
from vitrieve.indexer.library import Library
from vitrieve.search.tagging.train import train_from_ids

NOISE = [f"generated-{i}.jpg" for i in range(4)]
PHOTOS = ["astronaut.jpg", "coffee.jpg", "immunohistochemistry.jpg"]


def tick(at, folder: Path, names: list[str]):
    """Ticks the example cards of these files (checkbox keys are tick-<image id>)."""
    with Library(Settings()) as lib, lib.sessions() as session:
        ids = [image_id_of_path(session, folder / name) for name in names]
    for image_id in ids:
        at.checkbox(key=f"tick-{image_id}").check()
    return at.run()


def label(at, name: str):
    """Types the label and clicks the button in one submission, as the form sends them (a
    browser holds a form's typed text until its button is clicked)."""
    at.text_input(key="ex_label").set_value(name)
    next(b for b in at.button if b.key == "ex_add").click()
    return at.run()


def train(at, probe: str):
    at.text_input(key="probe_name").set_value(probe)
    next(b for b in at.button if b.label == "Train on the examples").click()
    return at.run()


def test_empty_states(catalog, open_page):
    at = open_page("tags")
    assert "No examples yet: select images above and give them a label." in texts(at.caption)
    assert "No taggers yet." in texts(at.caption)
    assert "No tags yet: train a tagger and apply it." in texts(at.caption)
    assert len([b for b in at.checkbox if b.key.startswith("tick-")]) == 10


def test_one_label_is_not_enough_and_says_so(catalog, open_page):
    at = label(tick(open_page("tags"), catalog, NOISE), "noise")
    at = train(at, "kind")
    assert any("a probe needs at least 2 labels" in e for e in texts(at.error)), texts(at.error)


def test_label_train_apply_browse_and_filter_search(catalog, open_page):
    at = label(tick(open_page("tags"), catalog, NOISE), "noise")
    at = label(tick(at, catalog, PHOTOS), "photo")
    assert {"**noise**: 4 images", "**photo**: 3 images"} <= set(texts(at.markdown))

    at = train(at, "kind")
    assert not at.error, texts(at.error)
    (trained,) = texts(at.success)
    assert trained.startswith("Trained kind v1 on 7 pictures with 2 labels: it labelled ")
    assert "macro-F1" not in trained and "fold" not in trained  # ML words: under Details
    assert any("3-fold cross-validation" in c for c in texts(at.caption))  # k: smallest label
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Pictures"] == "7" and metrics["Labels"] == "2" and metrics["Folds"] == "3"
    assert any(c.startswith("Each row is a label you gave") for c in texts(at.caption))
    per_class = next(d.value for d in at.dataframe if "precision" in d.value.columns)
    assert per_class["label"].tolist() == ["noise", "photo"]
    assert per_class["images"].tolist() == [4, 3]
    assert len(at.get("vega_lite_chart")) == 1  # the confusion matrix

    apply = next(b for b in at.button if b.key == "apply")
    assert apply.label == "Apply kind v1 to the collection"
    apply.click()
    at.run()
    assert any(s.startswith("Tagged 10 images with kind v1") for s in texts(at.success))

    at.selectbox(key="browse_tag").set_value("noise").run()
    (shown,) = [c for c in texts(at.caption) if " images tagged noise at score" in c]
    assert int(shown.split()[0]) >= 4
    names = [Path(p).name for p in card_paths(at, "tagged")]
    assert sorted(names[:4]) == NOISE  # labelled by hand
    helps = [b.help for b in at.button if b.key and b.key.startswith("open-tagged-")]
    assert all("tag score 1.000" in h for h in helps[:4])

    search = open_page()
    search.sidebar.selectbox(key="tag").set_value("photo").run()
    search.file_uploader(key="upload").set_value(("c.jpg", jpeg_bytes("chelsea"), "image/jpeg"))
    search.run()
    assert "Similar to c.jpg" in texts(search.caption)
    results = result_paths(search)
    assert results and not any(Path(r).name in NOISE for r in results)
    assert str(catalog / "coffee.jpg") in results


def test_the_tagger_just_trained_is_the_one_shown_and_applied(catalog, open_page):
    with Library(Settings()) as lib, lib.sessions() as session:
        ids = [image_id_of_path(session, catalog / name) for name in NOISE + PHOTOS]
    with Library(Settings()) as lib:  # an older tagger, listed first: the page opens on it
        train_from_ids(lib, "alpha", {"dull": ids[:3], "vivid": ids[4:]})
    at = open_page("tags")
    assert at.selectbox(key="probe_pick").value == "alpha"
    at = label(tick(at, catalog, NOISE), "noise")
    at = train(label(tick(at, catalog, PHOTOS), "photo"), "zebra")
    assert not at.error, texts(at.error)
    assert at.selectbox(key="probe_pick").value == "zebra"  # not left on alpha
    apply = next(b for b in at.button if b.key == "apply")
    assert apply.label == "Apply zebra v1 to the collection"
    apply.click()
    at.run()
    assert any(s.startswith("Tagged 10 images with zebra v1") for s in texts(at.success))


def test_labelling_without_a_label_says_so_and_keeps_the_ticks(catalog, open_page):
    at = tick(open_page("tags"), catalog, NOISE)
    next(b for b in at.button if b.key == "ex_add").click()
    at.run()
    assert texts(at.error) == ["Give the selected images a label first."]
    assert "No examples yet: select images above and give them a label." in texts(at.caption)
    assert next(b for b in at.button if b.key == "ex_add").label == "Label 4 selected"

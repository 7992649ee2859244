"""The web UI over photos whose names are not valid UTF-8: every page draws (Streamlit refuses
lone surrogates), names read as caf\\xe9.jpg, and the original file is still found."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import DUP_THRESHOLD as THRESHOLD
from tests.support import card_paths, click, real_photo, result_paths, texts
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library


def fs(raw: bytes) -> str:
    return os.fsdecode(raw)


@pytest.fixture
def latin1_catalog(app_env, tmp_path) -> Path:
    root = tmp_path / "share"
    (root / fs(b"dir-\xff")).mkdir(parents=True)
    real_photo("astronaut").save(root / fs(b"caf\xe9.jpg"), quality=90)
    shutil.copy2(root / fs(b"caf\xe9.jpg"), root / fs(b"dir-\xff/copie-\xe9.jpg"))
    real_photo("coffee").save(root / fs(b"dir-\xff/coffee.jpg"), quality=90)
    real_photo("rocket").save(root / "rocket.jpg", quality=90)
    (root / fs(b"cass\xe9.jpg")).write_bytes(b"not a picture")
    with Library(app_env) as lib:
        ingest(lib, [root])
    return root


def test_browsing_a_latin1_folder_and_opening_its_original(latin1_catalog, open_page):
    share = latin1_catalog
    at = open_page()
    folder = at.selectbox(key="pick_folder")
    assert folder.options == ["(all)", "dir-\\xff"]
    folder.select_index(1).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = card_paths(at, "pick")
    assert sorted(shown) == [f"{share}/dir-\\xff/coffee.jpg", f"{share}/dir-\\xff/copie-\\xe9.jpg"]
    next(b for b in at.button if b.key and b.key.startswith("pick-use-")).click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert "Similar to " + f"{share}/dir-\\xff/coffee.jpg" in texts(at.caption)
    assert f"{share}/dir-\\xff/copie-\\xe9.jpg" in result_paths(at)
    opens = [b for b in at.button if b.key and b.key.startswith("open-")]
    assert opens
    opens[0].click().run()
    assert not at.exception and not at.error, texts(at.error)
    # servable_path found the file at its byte name (else the dialog shows an error): the link
    # itself needs the route of `vitrieve ui` (tests/ui/test_browser.py downloads through it).
    assert "Downloads are served by `vitrieve ui` (ui/server.py), not a bare app.py." in texts(
        at.caption
    )


def test_the_library_page_lists_a_latin1_failure_readably(latin1_catalog, open_page):
    at = open_page("library")
    assert not at.exception, [e.value for e in at.exception]
    failed = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert failed["file"].tolist() == [f"{latin1_catalog}/cass\\xe9.jpg"]


def test_duplicates_with_latin1_names_are_shown_and_quarantined_at_their_byte_names(
    latin1_catalog, open_page, tmp_path
):
    share = latin1_catalog
    at = open_page("duplicates")
    at.slider(key="dup_threshold").set_value(THRESHOLD).run()
    assert not at.exception and not at.error, texts(at.error)
    # one group at a time (the default): names shown escaped, never a crash
    assert {"**caf\\xe9.jpg**", "**copie-\\xe9.jpg**"} & set(texts(at.markdown)), texts(at.markdown)
    at.session_state["dup_view"] = "All groups"
    at.run()
    shown = {c for c in texts(at.caption) if c.startswith("/")}
    assert {f"{share}/caf\\xe9.jpg", f"{share}/dir-\\xff/copie-\\xe9.jpg"} <= shown
    at.text_input(key="dup_dest").set_value(str(tmp_path / "quarantine"))
    next(b for b in at.button if b.label == "Plan the moves").click()
    at.run()
    at.checkbox(key="dup_confirm").check().run()
    at = click(at, "dup_apply")
    assert not at.exception and not at.error, texts(at.error)
    moved = sorted(os.listdir(os.fsencode(tmp_path / "quarantine" / "share")))
    assert moved in ([b"caf\xe9.jpg"], [b"dir-\xff"])
    at = click(at, "undo_apply")
    assert any(s.startswith("Restored 1 file from") for s in texts(at.success)), texts(at.success)
    assert sorted(os.listdir(os.fsencode(share / fs(b"dir-\xff")))) == [
        b"coffee.jpg",
        b"copie-\xe9.jpg",
    ]
    assert (share / fs(b"caf\xe9.jpg")).is_file()

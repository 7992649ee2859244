"""Duplicates page: groups side by side, keeper choice, "not duplicates", quarantine with a
confirmation step and its undo, export."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import real_photo
from tests.ui.conftest import texts
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.tagging.query import image_id_of_path

THRESHOLD = 0.99  # the tiny random ViT puts different photos closer than the real model does


@pytest.fixture
def dup_catalog(app_env, photos):
    """The six photos plus a byte copy of one and a re-encoded copy of another."""
    shutil.copy(photos / "coffee.jpg", photos / "trip" / "coffee-copy.jpg")
    real_photo("chelsea").save(photos / "chelsea-small.jpg", quality=80)
    with Library(app_env) as lib:
        ingest(lib, [photos])
    return photos


@pytest.fixture
def image_id(app_env):
    def lookup(path: Path) -> int:
        with Library(app_env) as lib, lib.sessions() as session:
            return image_id_of_path(session, path)

    return lookup


def open_dups(open_page):
    at = open_page("duplicates")
    at.slider(key="dup_threshold").set_value(THRESHOLD).run()
    assert not at.exception and not at.error, texts(at.error)
    return at


def summary(at) -> str:
    return next(m for m in texts(at.markdown) if " groups** (" in m)


def badges(at) -> list[str]:
    return [m for m in texts(at.markdown) if "keeper (" in m]


def click(at, key: str):
    next(b for b in at.button if b.key == key).click()
    return at.run()


def test_without_roots_the_page_says_to_add_a_folder(app_env, open_page):
    at = open_page("duplicates")
    assert "No roots yet — add a folder on the Library page." in texts(at.info)


def test_groups_are_shown_with_their_suggested_keepers(dup_catalog, open_page):
    at = open_dups(open_page)
    assert summary(at) == "**2 groups** (1 identical, 1 near) among 8 images"
    paths = [c for c in texts(at.caption) if c.startswith("/")]
    chelsea = [str(dup_catalog / "trip" / "chelsea.png"), str(dup_catalog / "chelsea-small.jpg")]
    coffee = {str(dup_catalog / "coffee.jpg"), str(dup_catalog / "trip" / "coffee-copy.jpg")}
    assert set(paths) == coffee | set(chelsea)
    assert paths.index(chelsea[0]) < paths.index(chelsea[1])  # keeper first: lossless PNG
    assert len(badges(at)) == 2 and all("(suggested)" in b for b in badges(at))
    assert [b.label for b in at.get("download_button")] == ["Export CSV", "Export JSON"]


def test_choosing_the_keeper_and_undoing_it(dup_catalog, open_page, image_id):
    at = open_dups(open_page)
    small = image_id(dup_catalog / "chelsea-small.jpg")
    keep = [b for b in at.button if b.key and b.key.startswith("keep-")]
    assert len(keep) == 2  # one per non-keeper
    next(b for b in keep if b.key.endswith(f"-{small}")).click()
    at.run()
    assert any("(your choice)" in b for b in badges(at))
    paths = [c for c in texts(at.caption) if c.startswith("/")]
    assert paths.index(str(dup_catalog / "chelsea-small.jpg")) < paths.index(
        str(dup_catalog / "trip" / "chelsea.png")
    )
    at = click(at, "dup_undo")
    assert all("(suggested)" in b for b in badges(at))


def test_not_duplicates_removes_the_group_and_undo_brings_it_back(dup_catalog, open_page):
    at = open_dups(open_page)
    group = next(b for b in at.button if b.label == "Not duplicates")
    group.click()
    at.run()
    assert summary(at).startswith("**1 groups**")
    assert any(t.startswith("Recorded: group ") for t in texts(at.info))
    at = click(at, "dup_undo")
    assert summary(at).startswith("**2 groups**")


def test_quarantine_needs_confirmation_then_moves_and_undo_restores(
    dup_catalog, open_page, tmp_path
):
    dest = tmp_path / "quarantine"
    at = open_dups(open_page)
    at.text_input[0].set_value(str(dest))
    next(b for b in at.button if b.label == "Plan the moves").click()
    at.run()
    plan = next(d.value for d in at.dataframe if "from" in d.value.columns)
    moving = set(plan["from"])
    assert len(moving) == 2 and str(dup_catalog / "trip" / "chelsea.png") not in moving
    apply = next(b for b in at.button if b.key == "dup_apply")
    assert apply.disabled  # the confirmation step
    at.checkbox(key="dup_confirm").check().run()
    at = click(at, "dup_apply")
    assert any(s.startswith("Moved 2 files to ") for s in texts(at.success)), texts(at.success)
    assert not any(p.exists() for p in map(Path, moving))
    assert len(list(dest.rglob("*.jpg"))) == 2
    assert "No duplicates at this threshold." in texts(at.info)

    at = click(at, "undo_apply")
    assert any(s.startswith("Restored 2 files") for s in texts(at.success)), texts(at.success)
    assert all(p.exists() for p in map(Path, moving))
    assert summary(at).startswith("**2 groups**")


def test_a_quarantine_folder_inside_the_library_is_refused(dup_catalog, open_page):
    at = open_dups(open_page)
    at.text_input[0].set_value(str(dup_catalog / "quarantine"))
    next(b for b in at.button if b.label == "Plan the moves").click()
    at.run()
    assert any("must be outside every library root" in e for e in texts(at.error))

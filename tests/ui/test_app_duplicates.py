"""Duplicates page: every member of a group reviewable page by page, compare with the keeper,
keeper choice, "not duplicates" (a group, or one member and its keeper), quarantine of one group,
of every exact copy or of everything, each previewed, confirmed and undoable; space reclaimable
per group and in total; export."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import DUP_THRESHOLD as THRESHOLD
from tests.support import (
    burst,
    camera_exif,
    click,
    open_dups,
    real_photo,
    save_camera_jpeg,
    texts,
    write_copies_of_astronaut,
)
from vitrieve.indexer.catalog import image_id_of_path
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.find import find_duplicates
from vitrieve.search.duplicates.groups import DupGroup
from vitrieve.tables.duplicates import DupIgnore
from vitrieve.ui.views.dups import human_size, totals


@pytest.fixture
def image_id(app_env):
    def lookup(path: Path) -> int:
        with Library(app_env) as lib, lib.sessions() as session:
            return image_id_of_path(session, path)

    return lookup


def summary(at) -> str:
    return next(m for m in texts(at.markdown) if re.search(r" groups?\*\* \(", m))


def badges(at) -> list[str]:
    return [m for m in texts(at.markdown) if "keeper (" in m]


def test_without_roots_the_page_says_to_add_a_folder(app_env, open_page):
    at = open_page("duplicates")
    assert "No roots yet — add a folder on the Library page." in texts(at.info)


def test_groups_are_shown_with_their_suggested_keepers(dup_catalog, open_page):
    at = open_dups(open_page)
    assert summary(at) == "**2 groups** (1 with identical copies, 1 near only) among 8 images"
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
    assert summary(at).startswith("**1 group**")  # one group: no plural
    said = [t for t in texts(at.info) if t.startswith("Recorded: ")]  # file names, not ids
    assert said in (
        ["Recorded: coffee.jpg and 1 other photo: not duplicates."],
        ["Recorded: chelsea.png and 1 other photo: not duplicates."],
    ), said
    at = click(at, "dup_undo")
    assert summary(at).startswith("**2 groups**")


def test_quarantine_needs_confirmation_then_moves_and_undo_restores(
    dup_catalog, open_page, tmp_path
):
    dest = tmp_path / "quarantine"
    at = open_dups(open_page)
    at.text_input(key="dup_dest").set_value(str(dest)).run()
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
    at.text_input(key="dup_dest").set_value(str(dup_catalog / "quarantine")).run()
    next(b for b in at.button if b.label == "Plan the moves").click()
    at.run()
    assert any("must be outside every library root" in e for e in texts(at.error))


@pytest.fixture
def copies_catalog(app_env, photos):
    """The six photos, ten more files of the astronaut (byte copies, a lossless re-save,
    re-encodes, a downscale, a crop) and a byte copy of coffee: one group of ten or eleven
    (the crop is the least similar), as find_duplicates makes them."""
    write_copies_of_astronaut(photos / "copies")
    shutil.copy(photos / "coffee.jpg", photos / "trip" / "coffee-copy.jpg")
    with Library(app_env) as lib:
        ingest(lib, [photos])
        groups = find_duplicates(lib, threshold=THRESHOLD).groups
    return photos, groups


def big_group(groups: list[DupGroup]) -> DupGroup:
    return next(g for g in groups if len(g.members) > 6)


def member_paths(at, root: Path) -> list[str]:
    return [c for c in texts(at.caption) if c.startswith(str(root))]


def test_every_member_of_a_big_group_is_shown_page_by_page(copies_catalog, open_page):
    photos, groups = copies_catalog
    group = big_group(groups)
    n = len(group.members)
    assert n > 6
    at = open_dups(open_page)
    at.selectbox(key="dup_members_per_page").set_value(6).run()
    first = [p for p in member_paths(at, photos) if "astronaut" in p]
    order_note = "keeper first, then by similarity to the keeper."
    assert f"Members 1–6 of {n}, {order_note}" in texts(at.caption)
    at.number_input(key=f"member-page-{group.group}").set_value(2).run()
    second = [p for p in member_paths(at, photos) if "astronaut" in p]
    assert f"Members 7–{n} of {n}, {order_note}" in texts(at.caption)
    assert len(first) == 6 and len(second) == n - 6
    assert sorted(first + second) == sorted(m.path for m in group.members)
    assert first[0] == group.keepers[0].path
    sims = {m.path: m.similarity for m in group.members}
    order = [sims[p] for p in first[1:] + second]
    assert order == sorted(order, reverse=True)  # by similarity to the keeper, highest first

    at.selectbox(key="dup_members_per_page").set_value(12).run()
    assert len([p for p in member_paths(at, photos) if "astronaut" in p]) == n
    assert not any("more (see the export)" in c for c in texts(at.caption))


def test_reclaimable_space_per_group_and_in_total_and_why_the_keeper(copies_catalog, open_page):
    _, groups = copies_catalog
    at = open_dups(open_page)
    t = totals(groups)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reclaimable (all groups)"] == (
        f"{human_size(sum(g.reclaimable for g in groups))} · "
        f"{sum(len(g.others) for g in groups)} files"
    )
    exact = [m for g in groups for m in g.others if m.match in ("bytes", "pixels")]
    assert t.exact_files == len(exact) > 0
    assert metrics["Reclaimable (exact copies)"] == (
        f"{human_size(sum(m.size for m in exact))} · {len(exact)} files"
    )
    headings = [m for m in texts(at.markdown) if m.startswith("**Group ")]
    for g in groups:
        assert any(
            h.startswith(f"**Group {g.group}** · {len(g.members)} images · {g.kind} ")
            and h.endswith(f"{human_size(g.reclaimable)} reclaimable")
            for h in headings
        ), headings
        assert f"Keeper {g.keepers[0].path}: {g.keeper_reason}." in texts(at.caption)


def test_not_a_duplicate_records_the_pair_with_the_keeper_only(copies_catalog, open_page, app_env):
    _, groups = copies_catalog
    group = big_group(groups)
    crop = group.others[-1]
    at = open_dups(open_page)
    at = click(at, f"ignore-one-{group.group}-{crop.image_id}")
    pair = tuple(sorted((crop.image_id, group.keepers[0].image_id)))
    with Library(app_env) as lib, lib.sessions() as session:
        assert session.execute(select(DupIgnore.image_a, DupIgnore.image_b)).all() == [pair]
    keeper = Path(group.keepers[0].path).name
    said = f"Recorded: {Path(crop.path).name} is not a duplicate of {keeper}."
    assert said in texts(at.info), texts(at.info)
    at = click(at, "dup_undo")
    with Library(app_env) as lib, lib.sessions() as session:
        assert session.execute(select(DupIgnore.image_a, DupIgnore.image_b)).all() == []


def test_compare_shows_the_member_beside_its_keeper(copies_catalog, open_page):
    _, groups = copies_catalog
    group = big_group(groups)
    small = next(m for m in group.members if m.path.endswith("astronaut-400.jpg"))
    at = open_dups(open_page)
    at = click(at, f"compare-{group.group}-{small.image_id}")
    shown = texts(at.markdown)
    assert f"**keeper** · {group.keepers[0].path}" in shown
    assert f"**member** · {small.path}" in shown
    assert any(c.startswith("400×400 · JPEG") for c in texts(at.caption))
    # a bare app.py has no originals route: the compare says so instead of a broken image
    assert "Downloads are served by `vitrieve ui` (ui/server.py), not a bare app.py." in texts(
        at.caption
    )
    at = click(at, f"close-compare-{group.group}")
    assert f"**member** · {small.path}" not in texts(at.markdown)


def plan_of(at) -> list[dict]:
    frame = next(d.value for d in at.dataframe if "from" in d.value.columns)
    return frame.to_dict("records")


def test_quarantine_this_group_moves_that_group_only_and_its_undo_restores(
    copies_catalog, open_page, tmp_path
):
    photos, groups = copies_catalog
    group = big_group(groups)
    others = [Path(m.path) for g in groups if g is not group for m in g.members]
    before = {Path(m.path): Path(m.path).read_bytes() for m in group.members}
    at = open_dups(open_page)
    at.text_input(key="dup_dest").set_value(str(tmp_path / "q")).run()
    at = click(at, f"plan-group-{group.group}")
    rows = plan_of(at)
    assert {r["from"] for r in rows} == {m.path for m in group.others}
    assert {r["group"] for r in rows} == {group.group}
    assert {r["keeper"] for r in rows} == {group.keepers[0].path}
    sims = {m.path: m.similarity for m in group.others}
    assert all(r["similarity"] == sims[r["from"]] for r in rows)
    assert {r["reason"] for r in rows} <= {"identical bytes", "same pixels", "near duplicate"}
    moved = len(group.others)
    assert any(m.startswith(f"**Dry run:** {moved} files") for m in texts(at.markdown))
    assert all(p.exists() for p in before)  # a dry run moves nothing
    at.checkbox(key="dup_confirm").check().run()
    at = click(at, "dup_apply")
    assert any(s.startswith(f"Moved {moved} files to ") for s in texts(at.success))
    assert [p.exists() for p in before] == [m.keeper for m in group.members]
    assert all(p.exists() for p in others)
    assert not any("astronaut" in p for p in member_paths(at, photos))

    at = click(at, "dup_undo_batch")
    assert any(s.startswith(f"Restored {moved} files") for s in texts(at.success))
    assert {p: p.read_bytes() for p in before} == before
    assert not any(k == "dup_undo_batch" for k in (b.key for b in at.button))


def test_resolve_all_exact_duplicates_moves_exact_copies_only(copies_catalog, open_page, tmp_path):
    _, groups = copies_catalog
    exact = {m.path for g in groups for m in g.others if m.match in ("bytes", "pixels")}
    near = {m.path for g in groups for m in g.others if m.match == "near"}
    assert exact and near
    at = open_dups(open_page)
    at.text_input(key="dup_dest").set_value(str(tmp_path / "q")).run()
    at = click(at, "plan-exact")
    rows = plan_of(at)
    assert {r["from"] for r in rows} == exact
    assert {r["reason"] for r in rows} <= {"identical bytes", "same pixels"}
    assert all(r["similarity"] == 1.0 for r in rows)
    at.checkbox(key="dup_confirm").check().run()
    at = click(at, "dup_apply")
    assert not any(Path(p).exists() for p in exact)
    assert all(Path(p).exists() for p in near)
    at = click(at, "dup_undo_batch")
    assert all(Path(p).exists() for p in exact)


def test_a_plan_without_a_folder_says_so(dup_catalog, open_page):
    at = open_dups(open_page)
    at = click(at, "plan-exact")
    assert "Give the quarantine folder first (in the sidebar)." in texts(at.error)
    assert not at.dataframe


def test_a_series_can_keep_more_than_one_shot_and_undo_it(app_env, photos, open_page, tmp_path):
    burst(photos / "burst", real_photo("astronaut"), timedelta(seconds=1))
    with Library(app_env) as lib:
        ingest(lib, [photos])
        groups = find_duplicates(lib, threshold=THRESHOLD).groups
    series = next(g for g in groups if g.kind == "series")
    second = series.others[0]
    at = open_dups(open_page)
    heading = f"**Group {series.group}** · {len(series.members)} images · series"
    assert any(m.startswith(heading) for m in texts(at.markdown)), texts(at.markdown)
    at = click(at, f"also-keep-{series.group}-{second.image_id}")
    assert sum("(your choice)" in b for b in badges(at)) == 2
    at.text_input(key="dup_dest").set_value(str(tmp_path / "q")).run()
    at = click(at, f"plan-group-{series.group}")
    moving = {r["from"] for r in plan_of(at)}
    assert moving == {m.path for m in series.others if m.image_id != second.image_id}
    at = click(at, "dup_undo")
    assert not any("(your choice)" in b for b in badges(at))


def test_the_dry_run_says_when_a_copy_has_metadata_its_keeper_lacks(
    app_env, photos, open_page, tmp_path
):
    img = real_photo("astronaut")
    img.save(photos / "astronaut-big.png")  # the keeper: highest resolution, no EXIF
    phone = save_camera_jpeg(
        img.resize((400, 400)), photos / "IMG_0001.jpg", camera_exif(gps=True), quality=92
    )
    with Library(app_env) as lib:
        ingest(lib, [photos])
        groups = find_duplicates(lib, threshold=THRESHOLD).groups
    group = next(g for g in groups if str(phone) in {m.path for m in g.members})
    assert not group.keepers[0].photo.camera
    at = open_dups(open_page)
    at.text_input(key="dup_dest").set_value(str(tmp_path / "q")).run()
    at = click(at, f"plan-group-{group.group}")
    (warning,) = [w for w in texts(at.warning) if "metadata their keeper lacks" in w]
    assert f"- {phone} has a capture time, camera EXIF, GPS that its keeper lacks" in warning
    row = next(r for r in plan_of(at) if r["from"] == str(phone))
    assert row["metadata keeper lacks"] == "captured_at, camera, gps"

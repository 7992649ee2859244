"""Stacks: a burst kept whole. Nothing moves; the stack is recorded with its keeper as cover;
`dups` no longer lists the group; search and the folder browser show the cover once with its
count; undo shows every shot again. Real files through the real pipeline (tiny ViT)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.support import TINY_VIT, burst, cli_env, invoke_cli, invoke_cli_json, real_photo
from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import list_roots
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.browse import folder_page
from vitrieve.search.duplicates.stacks import (
    StackInfo,
    collapse,
    create_stack,
    fully_stacked,
    list_stacks,
    stacks_of,
)
from vitrieve.search.query import query_from_file
from vitrieve.ui.views.search import search_grid

NEAR = "0.99"


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stacks") / "photos"
    burst(root / "burst", real_photo("astronaut"), timedelta(seconds=1))
    real_photo("coffee").save(root / "coffee.jpg", quality=90)
    return root


@pytest.fixture(scope="module")
def ingested_home(folders, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("stacks-home") / "home"
    settings = Settings(
        home=home, model=str(TINY_VIT), precision="fp32", runtime="torch", batch_size=4
    )
    with Library(settings) as lib:
        assert ingest(lib, [folders]).embedded == 4
    return home


def _disk(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.rglob("*.jpg"))}


def test_a_series_kept_as_a_stack_moves_nothing_and_shows_one_cover(lib, folders):
    env = cli_env(lib.settings.home)
    before = _disk(folders)
    [series] = invoke_cli_json(env, "dups", "-t", NEAR)["groups"]
    assert series["kind"] == "series"
    keeper = series["members"][0]
    assert Path(keeper["path"]).name == "IMG_0001.jpg"  # the sharpest shot

    said = invoke_cli(env, "dups", "stack", str(series["group"]), "-t", NEAR).stdout
    assert said.startswith("stack 1: ") and "IMG_0001.jpg + 2 photos, kept in place" in said
    assert _disk(folders) == before  # nothing moved, nothing changed
    assert invoke_cli_json(env, "dups", "-t", NEAR)["groups"] == []  # decided: not listed
    [stack] = invoke_cli_json(env, "dups", "stacks")
    assert stack["cover"] == keeper["image_id"] and len(stack["members"]) == 3
    shown = invoke_cli_json(env, "dups", "stacks", "show", "1")
    assert Path(shown["paths"][0]).name == "IMG_0001.jpg"
    assert sorted(Path(p).name for p in shown["paths"]) == [f"IMG_000{i}.jpg" for i in range(3)]

    # Search by a shot of the burst: the stack is one result, its cover, with the count.
    query = query_from_file(lib, folders / "coffee.jpg")
    items = search_grid(lib, query, k=10)
    assert [i.image_id for i in items].count(keeper["image_id"]) == 1
    assert not {m for m in stack["members"] if m != stack["cover"]} & {i.image_id for i in items}
    [cover] = [i for i in items if i.image_id == keeper["image_id"]]
    assert cover.stacked == 2
    # The folder browser too: the burst folder holds one card.
    [root] = list_roots(lib.sessions)
    root_id = root.id
    ids, total = folder_page(lib, root_id, "burst", None, limit=20, offset=0)
    assert (ids, total) == ([keeper["image_id"]], 1)

    assert "removed stack 1 (3 photos" in invoke_cli(env, "dups", "stacks", "undo", "1").stdout
    assert [g["group"] for g in invoke_cli_json(env, "dups", "-t", NEAR)["groups"]] == [
        series["group"]
    ]
    assert folder_page(lib, root_id, "burst", None, limit=20, offset=0)[1] == 3
    assert invoke_cli_json(env, "dups", "stacks") == []


def test_an_unknown_group_or_stack_is_one_clear_line(lib):
    env = cli_env(lib.settings.home)
    gone = invoke_cli(env, "dups", "stack", "999", "-t", NEAR, code=1)
    assert "no duplicate group 999 (see `vitrieve dups`)" in gone.stderr
    missing = invoke_cli(env, "dups", "stacks", "undo", "7", code=1)
    assert "no stack 7 (see `vitrieve dups stacks`)" in missing.stderr


def test_a_stack_overlapping_an_older_one_takes_it_in(lib):
    with lib.sessions.begin() as session:
        first, replaced = create_stack(session, 1, [1, 2])
        assert replaced == []
        second, replaced = create_stack(session, 3, [2, 3])
        assert replaced == [first.id]
        [only] = list_stacks(session)
    assert only.id == second.id and only.cover == 3 and only.members == (3, 1, 2)
    assert set(stacks_of_ids(lib, [1, 2, 3, 4])) == {1, 2, 3}


def stacks_of_ids(lib: Library, ids: list[int]) -> dict[int, StackInfo]:
    with lib.sessions() as session:
        return stacks_of(session, ids)


def test_collapse_keeps_each_stack_once_where_its_best_member_ranked():
    stack = StackInfo(1, cover=5, members=(5, 6, 7), group=5)
    by_id = {5: stack, 6: stack, 7: stack}
    assert collapse([9, 7, 3, 5, 6], by_id) == [(9, 9), (5, 7), (3, 3)]
    assert fully_stacked([5, 6, 7], by_id)
    assert not fully_stacked([5, 6, 9], by_id)
    assert not fully_stacked([1, 2], {})

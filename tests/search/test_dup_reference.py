"""Reference folders, keeper preferences, groups named by their keeper and exact copies counted
(docs/DUPLICATES.md), through `vitrieve` as a user runs it (in-process, tests/support/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import NEAR, cli_env, clone_library, invoke_cli


@pytest.fixture
def lib_env(dup_template, tmp_path):
    photos, settings = clone_library(dup_template, tmp_path / "lib")
    return cli_env(settings.home, settings.model) | {"TTY_COMPATIBLE": "0"}, photos


def groups(env: dict, *args: str) -> list[dict]:
    return json.loads(invoke_cli(env, "dups", *args, "--json").stdout)["groups"]


def plan(env: dict, dest: Path, *args: str) -> dict:
    return json.loads(
        invoke_cli(env, "dups", "quarantine", str(dest), "-t", str(NEAR), *args, "--json").stdout
    )


def group_of(found: list[dict], name: str) -> dict:
    return next(g for g in found if any(m["path"].endswith(name) for m in g["members"]))


def test_exact_copies_in_near_groups_are_counted_and_badged(lib_env):
    env, _ = lib_env
    near = groups(env, "-t", str(NEAR))
    exact_only = groups(env, "--exact-only")
    with_copies = [g for g in near if g["exact_copies"]]
    # chelsea.png's lossless re-saves sit in a near group (with a near crop): still counted
    assert len(with_copies) == len(exact_only) == 3
    assert any(not g["exact"] for g in with_copies)
    shown = invoke_cli(env, "dups", "-t", str(NEAR))
    assert "5 groups (3 with exact copies, 2 near only)" in shown.stderr
    rows = [line.split("\t") for line in shown.stdout.splitlines()]
    assert {int(r[3]) for r in rows if r[2] == "exact"} == {
        m["image_id"] for g in near for m in g["members"] if m["match"] in ("bytes", "pixels")
    }


def test_a_group_has_the_same_id_in_every_listing_and_after_a_decision(lib_env, tmp_path):
    env, _ = lib_env
    near = {g["group"]: g for g in groups(env, "-t", str(NEAR))}
    assert all(gid == g["keepers"][0] for gid, g in near.items())  # named by its keeper
    for g in groups(env, "--exact-only"):  # the same keeper, the same id, in both listings
        assert g["group"] in near
        assert {m["image_id"] for m in g["members"]} <= {
            m["image_id"] for m in near[g["group"]]["members"]
        }
    every = plan(env, tmp_path / "q")
    assert {g["group"] for g in every["groups"]} <= set(near)
    one = every["groups"][0]["group"]
    only = plan(env, tmp_path / "q", "--group", str(one))
    assert {m["group"] for m in only["moves"]} == {one}
    # A decision on one group leaves the others' ids as they were.
    invoke_cli(env, "dups", "ignore", "--group", str(one), "-t", str(NEAR))
    after = {g["group"] for g in groups(env, "-t", str(NEAR))}
    assert after == set(near) - {one}


def test_a_reference_folder_is_kept_never_planned_and_says_why(lib_env, tmp_path):
    env, photos = lib_env
    before = group_of(groups(env, "-t", str(NEAR)), "coffee.jpg")
    backup = str(photos / "backup" / "coffee.jpg")
    assert before["members"][0]["path"] == str(photos / "coffee.jpg")
    assert backup in [m["path"] for m in before["members"] if not m["keeper"]]
    said = invoke_cli(env, "roots", "reference", str(photos / "backup")).stdout
    assert f"{photos / 'backup'} is a reference folder" in said
    after = group_of(groups(env, "-t", str(NEAR)), "coffee.jpg")
    assert after["members"][0]["path"] == backup and after["group"] == after["keepers"][0]
    assert after["keeper_reason"] == f"in the reference folder {photos / 'backup'} (always kept)"
    moves = plan(env, tmp_path / "q")["moves"]
    assert backup not in {m["src"] for m in moves}
    assert str(photos / "coffee.jpg") in {m["src"] for m in moves}
    listed = json.loads(invoke_cli(env, "roots", "list", "--json").stdout)
    assert listed[0]["reference"] == [str(photos / "backup")]
    invoke_cli(env, "roots", "reference", str(photos / "backup"), "--off")
    assert group_of(groups(env, "-t", str(NEAR)), "coffee.jpg")["group"] == before["group"]


def test_reference_duplicates_of_each_other_are_all_kept(lib_env, tmp_path):
    env, photos = lib_env
    invoke_cli(env, "roots", "reference", str(photos))
    found = groups(env, "-t", str(NEAR))
    assert found and all(m["keeper"] for g in found for m in g["members"])
    coffee = group_of(found, "coffee.jpg")
    assert coffee["keeper_reason"].startswith("3 images in reference folders duplicate each other")
    assert plan(env, tmp_path / "q")["moves"] == []
    quiet = invoke_cli(env, "dups", "quarantine", str(tmp_path / "q"), "-t", str(NEAR)).stdout
    assert quiet.startswith("nothing to move")
    # A folder inside a reference root is covered already; it cannot be taken out alone.
    refused = invoke_cli(env, "roots", "reference", str(photos / "backup"), "--off", code=1)
    assert f"inside the reference folder {photos}" in refused.stderr


def test_a_preference_changes_the_keeper_and_is_named_in_its_reason(lib_env, tmp_path):
    env, photos = lib_env
    rocket = group_of(groups(env, "-t", str(NEAR)), "rocket.png")
    assert Path(rocket["members"][0]["path"]).name == "rocket.png"  # lossless wins by default
    prefer = env | {"VITRIEVE_KEEPER_PREFER": "jpeg"}
    mine = group_of(groups(prefer, "-t", str(NEAR)), "rocket.png")
    assert Path(mine["members"][0]["path"]).name == "rocket-q70.jpg"
    assert mine["keeper_reason"] == "preferred format JPEG (your preference 'jpeg')"
    folder = env | {"VITRIEVE_KEEPER_PREFER": f"png, folder:{photos / 'backup'}"}
    coffee = group_of(groups(folder, "-t", str(NEAR)), "coffee.jpg")
    assert coffee["members"][0]["path"] == str(photos / "backup" / "coffee.jpg")
    assert coffee["keeper_reason"] == (
        f"preferred folder {photos / 'backup'} (your preference 'folder:{photos / 'backup'}')"
    )
    moves = plan(folder, tmp_path / "q")["moves"]
    assert str(photos / "coffee.jpg") in {m["src"] for m in moves}


def test_a_bad_preference_is_one_line_naming_it(lib_env):
    env, _ = lib_env
    bad = invoke_cli(env | {"VITRIEVE_KEEPER_PREFER": "raw,webp"}, "dups", code=None)
    assert bad.returncode != 0
    assert "VITRIEVE_KEEPER_PREFER=raw,webp: 'webp' is not a keeper preference" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_groups_or_plans_made_before_a_folder_was_marked_never_move_its_images(
    dup_library, tmp_path
):
    from vitrieve.search.duplicates.find import find_duplicates
    from vitrieve.search.duplicates.quarantine import apply_quarantine, plan_quarantine
    from vitrieve.search.duplicates.reference import set_reference

    lib, photos = dup_library
    backup = photos / "backup" / "coffee.jpg"
    groups = find_duplicates(lib, threshold=NEAR).groups  # before the folder is marked
    stale = plan_quarantine(lib, groups, tmp_path / "q")
    assert str(backup) in {str(m.src) for m in stale}
    set_reference(lib, photos / "backup")
    fresh = plan_quarantine(lib, groups, tmp_path / "q")
    assert str(backup) not in {str(m.src) for m in fresh}
    assert any(x.path == str(backup) and "reference folder" in x.why for x in fresh.left)
    done = apply_quarantine(lib, [m for m in stale if m.src == backup])
    assert not done.done and backup.exists()
    assert done.problems == [
        (str(backup), f"not moved: in the reference folder {photos / 'backup'} (always kept)")
    ]

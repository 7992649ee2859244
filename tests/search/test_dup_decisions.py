"""Every duplicate decision can be seen and taken back: "not duplicates" pairs, whole groups
(as one decision, removable after the group dissolved) and chosen keepers; from Python and from
`vitrieve dups decisions` / `dups ignore --group G --remove`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import NEAR, cli_env, clone_library, invoke_cli
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.decisions import (
    ignore_group,
    ignore_pairs,
    list_decisions,
    remove_decision,
    set_keepers,
)
from vitrieve.search.duplicates.find import find_duplicates


@pytest.fixture
def library(dup_template, tmp_path):
    photos, settings = clone_library(dup_template, tmp_path / "lib")
    with Library(settings) as lib:
        yield lib, photos, settings


def groups_by_keeper(lib) -> dict[str, list[int]]:
    return {
        Path(g.keepers[0].path).name: [m.image_id for m in g.members]
        for g in find_duplicates(lib, threshold=NEAR).groups
    }


def test_pairs_groups_and_keepers_are_listed_and_each_removes_alone(library):
    lib, photos, _ = library
    before = groups_by_keeper(lib)
    rocket, camera, coffee = before["rocket.png"], before["camera.png"], before["coffee.jpg"]
    chelsea_group = min(before["chelsea.tiff"])
    with lib.sessions.begin() as session:
        ignore_pairs(session, rocket)
        set_keepers(session, [camera[1]])
        set_id = ignore_group(session, chelsea_group, before["chelsea.tiff"])
        assert ignore_group(session, chelsea_group, before["chelsea.tiff"]) is None  # once
    with lib.sessions() as session:
        found = {d.id: d for d in list_decisions(session)}
    a, b = sorted(rocket)
    assert set(found) == {f"pair:{a}-{b}", f"keep:{camera[1]}", f"group:{set_id}"}
    group = found[f"group:{set_id}"]
    assert group.kind == "not_duplicates_group" and group.group == chelsea_group
    assert list(group.images) == sorted(before["chelsea.tiff"])
    assert all(Path(p).exists() and Path(p).is_relative_to(photos) for p in group.paths)
    assert found[f"pair:{a}-{b}"].to_dict()["images"] == [a, b]

    during = groups_by_keeper(lib)
    assert "rocket.png" not in during and "chelsea.tiff" not in during
    assert during["camera-half.png"] == [camera[1], camera[0]]  # the chosen keeper leads
    assert during["coffee.jpg"] == coffee

    with lib.sessions.begin() as session:
        remove_decision(session, f"group:{set_id}")
    assert groups_by_keeper(lib)["chelsea.tiff"] == before["chelsea.tiff"]
    assert "rocket.png" not in groups_by_keeper(lib)  # the others still hold
    with lib.sessions.begin() as session:
        remove_decision(session, f"pair:{a}-{b}")
        remove_decision(session, f"keep:{camera[1]}")
        assert list_decisions(session) == []
    assert groups_by_keeper(lib) == before


def test_an_unknown_decision_id_is_a_clear_error_and_removes_nothing(library):
    lib, _, _ = library
    rocket = groups_by_keeper(lib)["rocket.png"]
    with lib.sessions.begin() as session:
        ignore_pairs(session, rocket)
    for bad in ("pair:1-999999", "group:42", "nonsense"):
        with pytest.raises(VitrieveError, match="no decision"), lib.sessions.begin() as session:
            remove_decision(session, bad)
    with lib.sessions() as session:
        assert len(list_decisions(session)) == 1


def test_cli_lists_and_removes_decisions_including_a_dissolved_groups_ignore(library):
    _, _, settings = library
    env = cli_env(settings.home, settings.model)
    groups = json.loads(invoke_cli(env, "dups", "-t", str(NEAR), "--json").stdout)["groups"]
    chelsea = next(g for g in groups if "chelsea" in g["members"][0]["path"])
    rocket = next(g for g in groups if "rocket" in g["members"][0]["path"])
    gid = str(chelsea["group"])

    said = invoke_cli(env, "dups", "ignore", "--group", gid, "-t", str(NEAR)).stdout
    assert f"group {gid}: 'not duplicates' recorded as group:" in said
    invoke_cli(env, "dups", "keep", str(rocket["members"][1]["image_id"]))
    after = json.loads(invoke_cli(env, "dups", "-t", str(NEAR), "--json").stdout)["groups"]
    assert chelsea["group"] not in [g["group"] for g in after]  # the group has dissolved

    listed = json.loads(invoke_cli(env, "dups", "decisions", "--json").stdout)
    assert [d["kind"] for d in listed] == ["not_duplicates_group", "keeper"]
    assert listed[0]["group"] == chelsea["group"]
    assert listed[0]["images"] == sorted(m["image_id"] for m in chelsea["members"])
    text = invoke_cli(env, "dups", "decisions").stdout.splitlines()
    assert [line.split("\t")[0] for line in text] == [d["id"] for d in listed]

    gone = invoke_cli(env, "dups", "ignore", "--group", gid, "--remove", "-t", str(NEAR)).stdout
    assert f"removed the 'not duplicates' decision on group {gid}" in gone
    back = json.loads(invoke_cli(env, "dups", "-t", str(NEAR), "--json").stdout)["groups"]
    assert chelsea["group"] in [g["group"] for g in back]

    assert (
        f"removed {listed[1]['id']}"
        in invoke_cli(env, "dups", "decisions", "remove", listed[1]["id"]).stdout
    )
    assert json.loads(invoke_cli(env, "dups", "decisions", "--json").stdout) == []
    missing = invoke_cli(env, "dups", "ignore", "--group", "999999", "--remove", code=1)
    assert "no 'not duplicates' decision recorded for group 999999" in missing.stderr
    unknown = invoke_cli(env, "dups", "decisions", "remove", "group:77", code=1)
    assert "no decision 'group:77'" in unknown.stderr

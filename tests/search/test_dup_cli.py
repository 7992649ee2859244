"""`vitrieve dups ...` and `vitrieve eval dups`, run as a user runs them, in-process
(tests/support/cli.py)."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.support import NEAR, cli_env, clone_library, invoke_cli
from vitrieve.search.duplicates.export import CSV_COLUMNS
from vitrieve.ui.cli.dup_plan import PLAN_COLUMNS


@pytest.fixture
def cli(dup_template, tmp_path):
    photos, settings = clone_library(dup_template, tmp_path / "lib")
    env = cli_env(settings.home, settings.model) | {"TTY_COMPATIBLE": "0"}
    # rich takes these for a terminal of 80 columns, without colours
    terminal = env | {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "80"}

    def run(*args: str, code: int = 0, terminal: bool = False) -> subprocess.CompletedProcess:
        return invoke_cli(terminal_env if terminal else env, *args, code=code)

    terminal_env = terminal

    return run, photos


def test_dups_lists_groups_as_json_csv_and_tables(cli, tmp_path):
    run, _ = cli
    exact = json.loads(run("dups", "--exact-only", "--json").stdout)
    assert exact["threshold"] is None and len(exact["groups"]) == 3
    member = exact["groups"][0]["members"][0]
    assert set(member) == set(CSV_COLUMNS) - {"group"}

    out = tmp_path / "out" / "groups.csv"
    human = run("dups", "--threshold", str(NEAR), "--csv", str(out))
    # piped: one line per member on stdout, the summary on stderr (tests/ui/test_cli_output.py)
    assert (
        "5 groups (3 with exact copies, 2 near only)" in human.stderr and "\tkeep\t" in human.stdout
    )
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 12
    assert sum(r["keeper"] == "true" for r in rows) == 5
    camera = [r for r in rows if "camera" in r["path"]]
    assert [Path(r["path"]).name for r in camera] == ["camera.png", "camera-half.png"]
    assert camera[0]["similarity"] == "1.000000" and camera[0]["width"] == "512"


def state_of(folder: Path) -> dict[str, tuple[str, int]]:
    """Relative path -> (sha256, mtime_ns) of every file under folder."""
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_quarantine_is_a_dry_run_until_apply_and_undo_puts_everything_back(cli, tmp_path):
    run, photos = cli
    before = state_of(photos)
    q = tmp_path / "quarantine"
    plan = json.loads(run("dups", "quarantine", str(q), "-t", str(NEAR), "--json").stdout)
    assert not plan["applied"] and not q.exists() and state_of(photos) == before
    assert plan["totals"]["files"] == len(plan["moves"]) == 7 and plan["totals"]["groups"] == 5
    assert plan["totals"]["bytes"] == sum(m["size"] for m in plan["moves"])
    keepers = {g["group"]: g["keeper"] for g in plan["groups"]}
    for m in plan["moves"]:
        assert m["similarity"] >= NEAR and m["keeper"] == keepers[m["group"]]
        assert m["reason"] in ("bytes", "pixels", "near")
        assert m["size"] == Path(m["src"]).stat().st_size
        assert {"metadata_keeper_lacks", "keeper_inherits", "keeper_id", "dst"} <= set(m)

    piped = run("dups", "quarantine", str(q), "-t", str(NEAR))
    records = [line.split("\t") for line in piped.stdout.splitlines()]
    assert len(records) == 7 and all(len(r) == len(PLAN_COLUMNS) for r in records)
    assert [r[-2] for r in records] == [m["src"] for m in plan["moves"]]
    assert "dry run: 7 files" in piped.stderr and "in 5 groups" in piped.stderr

    moved = json.loads(
        run("dups", "quarantine", str(q), "-t", str(NEAR), "--apply", "--json").stdout
    )
    assert moved["applied"] and len(moved["done"]) == 7 and moved["plan"]["totals"]["files"] == 7
    assert all(Path(m["dst"]).exists() and not Path(m["src"]).exists() for m in moved["done"])
    inside = state_of(q / "photos")
    assert inside == {r: before[r] for r in inside}  # same bytes and times in quarantine
    listed = run("dups", "undo", "--list").stdout
    assert moved["batch"] in listed and "7 moved" in listed
    restored = json.loads(run("dups", "undo", "--json").stdout)
    assert restored["batch"] == moved["batch"] and len(restored["done"]) == 7
    assert state_of(photos) == before
    nothing = run("dups", "undo", code=1)
    assert "nothing to undo" in nothing.stderr and len(nothing.stderr.strip().splitlines()) == 1


def test_quarantine_dry_run_on_a_terminal_reads_group_by_group_in_80_columns(cli, tmp_path):
    run, _ = cli
    q = tmp_path / "q"
    plan = json.loads(run("dups", "quarantine", str(q), "-t", str(NEAR), "--json").stdout)
    shown = run("dups", "quarantine", str(q), "-t", str(NEAR), terminal=True).stdout
    lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown).splitlines()  # bold is no colour
    assert max(len(line) for line in lines) <= 80
    for g in plan["groups"]:
        head = next(i for i, line in enumerate(lines) if line.startswith(f"group {g['group']} "))
        assert g["kind"] in lines[head]
        assert lines[head + 1].strip().startswith("kept for:")
        keep = next(i for i in range(head + 1, len(lines)) if lines[i].startswith("  keep "))
        assert " ".join(" ".join(lines[head + 1 : keep]).split()) == (
            f"kept for: {' '.join(g['keeper_reason'].split())}"
        )
        keeper = "".join(lines[keep : keep + 3]).split("keep", 1)[1].strip()
        assert keeper.startswith(g["keeper"][:60])
    assert "exact bytes" in shown and "same pixels" in shown and "near" in shown
    assert "dry run: 7 files" in shown


def test_quarantine_filters_by_group_and_similarity_from_the_command_line(cli, tmp_path):
    run, _ = cli
    q = str(tmp_path / "q")
    every = json.loads(run("dups", "quarantine", q, "-t", str(NEAR), "--json").stdout)
    one = every["moves"][0]["group"]
    only = json.loads(
        run("dups", "quarantine", q, "-t", str(NEAR), "--group", str(one), "--json").stdout
    )
    assert {m["group"] for m in only["moves"]} == {one}
    assert len(only["moves"]) == sum(m["group"] == one for m in every["moves"])
    strict = json.loads(
        run("dups", "quarantine", q, "-t", str(NEAR), "--min-similarity", "1", "--json").stdout
    )
    assert {m["reason"] for m in strict["moves"]} == {"bytes", "pixels"}
    assert len(strict["left_in_place"]) == 3
    exact = json.loads(run("dups", "quarantine", q, "--exact-only", "--json").stdout)
    assert {m["reason"] for m in exact["moves"]} == {"bytes", "pixels"}
    bad = run("dups", "quarantine", q, "-t", str(NEAR), "--group", "999999", code=1)
    assert "no duplicate group 999999" in bad.stderr


def test_ignore_and_keep_change_later_runs_and_bad_ids_are_clear_errors(cli):
    run, _ = cli
    groups = json.loads(run("dups", "-t", str(NEAR), "--json").stdout)["groups"]
    rocket = next(g for g in groups if "rocket" in g["members"][0]["path"])
    camera = next(g for g in groups if "camera" in g["members"][0]["path"])
    ids = [str(m["image_id"]) for m in rocket["members"]]
    assert "recorded 1" in run("dups", "ignore", *ids).stdout
    half = str(camera["members"][1]["image_id"])
    assert "marked 1" in run("dups", "keep", half).stdout
    after = json.loads(run("dups", "-t", str(NEAR), "--json").stdout)["groups"]
    assert len(after) == 4
    camera_after = next(g for g in after if g["group"] == int(half))  # named by its new keeper
    assert camera_after["keepers"] == [int(half)]

    assert run("dups", "ignore", ids[0], code=2).returncode == 2
    unknown = run("dups", "ignore", ids[0], "999999", code=1)
    assert "no image with id 999999" in unknown.stderr


def test_eval_dups_sweeps_thresholds(cli, tmp_path):
    run, photos = cli
    truth = tmp_path / "truth.csv"
    truth.write_text(
        "path,group\n"
        f"{photos / 'trip/rocket.png'},rocket\n{photos / 'rocket-q70.jpg'},rocket\n"
        f"{photos / 'trip/camera.png'},camera\n{photos / 'camera-half.png'},camera\n"
        f"{photos / 'coffee.jpg'},coffee\n"
    )
    report = json.loads(
        run("eval", "dups", "--truth", str(truth), "--thresholds", "0.9:0.99:0.03", "--json").stdout
    )
    assert [r["threshold"] for r in report["rows"]] == [0.9, 0.93, 0.96, 0.99]
    assert report["images"] == 5 and report["true_pairs"] == 2
    assert report["rows"][-1]["precision"] == 1.0 and report["rows"][-1]["recall"] == 1.0
    table = run("eval", "dups", "--truth", str(truth), "--thresholds", "0.99").stdout
    assert "best F1 1.0000 at threshold 0.99" in table

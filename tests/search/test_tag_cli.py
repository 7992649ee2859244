"""`vitrieve tag ...` as a user runs it, in-process (tests/support/cli.py)."""

from __future__ import annotations

import csv

import pytest

from tests.support import cli_env, invoke_cli, invoke_cli_json, write_scenes


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return cli_env(tmp_path / "home")


run = invoke_cli
run_json = invoke_cli_json


def test_train_apply_list_show_and_export(env, tmp_path):
    photos = tmp_path / "photos"
    write_scenes(photos / "train", 6, seed=0, by_folder=True)
    write_scenes(photos / "new", 2, seed=300, by_folder=False)
    run(env, "ingest", str(photos))

    human = run(env, "tag", "train", "colours", "--folders", str(photos / "train")).stdout
    assert "colours v1: 18 images, 3 labels (single-label), 5-fold" in human
    assert "vitrieve tag apply colours" in human

    applied = run_json(env, "tag", "apply", "colours")
    assert (applied["version"], applied["images"]) == (1, 24)

    (listed,) = run_json(env, "tag", "list")
    assert listed["labels"] == ["blue", "green", "red"] and listed["current_model"]
    assert listed["metrics"]["accuracy"] >= 0.9 and listed["metrics"]["folds"] == 5
    assert set(listed["metrics"]) >= {"macro_f1", "per_class", "confusion_matrix"}

    shown = run_json(env, "tag", "show", str(photos / "new" / "green-1.png"))
    best = max((t for t in shown["tags"] if t["effective"]), key=lambda t: t["score"])
    assert (best["label"], best["source"], best["probe_version"]) == ("green", "probe", 1)

    out = tmp_path / "export.csv"
    assert "wrote 24 tags" in run(env, "tag", "export", "colours", "--csv", str(out)).stdout
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["path"]: r["label"] for r in rows}[str(photos / "new" / "blue-0.png")] == "blue"


def test_label_and_probe_errors_are_one_line_with_exit_code_1(env, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("photos/red0.png,red\nnot/here.png,blue\n")
    proc = run(env, "tag", "train", "p", "--csv", str(labels), code=1)
    assert proc.stderr.strip().splitlines() == [
        f"error: {labels} names 2 file(s) that are not in the catalog "
        "(run `vitrieve ingest` on their folder first): photos/red0.png, not/here.png"
    ]
    proc = run(env, "tag", "apply", "nothing", code=1)
    assert proc.stderr.strip() == "error: no probe named 'nothing'; none trained yet"
    run(env, "tag", "train", "p", code=2)  # neither --folders nor --csv

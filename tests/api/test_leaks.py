"""Leakage across sets: `lib.duplicates(across=[train, test])` and `vitrieve dups --across`.

The split (tests/support/splits.py) holds real photos; LEAKS are test images that are edited
copies of train images (a byte copy, a PNG of the decoded pixels, a resize, a re-encode). All
must be found with their train image as best match, and no pair inside one set may show: train
and test each hold a byte copy of one of their own pictures."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import vitrieve
from tests.support import LEAK_THRESHOLD, LEAKS, invoke_cli, invoke_cli_json


def names(leaks) -> dict[str, tuple[str, str]]:
    return {Path(leak.path).name: (Path(leak.match.path).name, leak.kind) for leak in leaks}


def test_every_edited_copy_of_a_train_image_in_test_is_found_with_its_train_image(
    split_lib, split_base
):
    dataset = split_base / "dataset"
    found = split_lib.duplicates(
        threshold=LEAK_THRESHOLD, across=[dataset / "train", dataset / "test"], progress=False
    )
    assert names(found.leaks) == LEAKS
    for leak in found.leaks:
        assert (leak.set_index, leak.match_set) == (1, 0)
        assert Path(leak.path).parent == dataset / "test"
        assert Path(leak.match.path).parent == dataset / "train"
        assert leak.similarity >= LEAK_THRESHOLD
    assert {leak.kind: leak.similarity for leak in found.leaks}["bytes"] == 1.0


def test_no_pair_inside_one_set_is_reported(split_lib, split_base):
    """Both sets hold a byte copy of one of their own pictures; the exact-only search that
    finds them as `dups` groups finds none of them across the sets."""
    dataset = split_base / "dataset"
    within = split_lib.duplicates(exact_only=True, progress=False)
    pairs_inside = [
        g for g in within if len({Path(m.path).parts[-2] != "test" for m in g.members}) == 1
    ]
    assert len(pairs_inside) >= 2  # train/backup/coffee.jpg and test/noise10-copy.png
    found = split_lib.duplicates(
        exact_only=True, across=[dataset / "train", dataset / "test"], progress=False
    )
    assert names(found.leaks) == {k: v for k, v in LEAKS.items() if v[1] != "near"}
    assert all(leak.set_index != leak.match_set for leak in found.leaks)


def test_the_leaks_as_pandas_and_as_groups_for_a_quarantine_plan(split_lib, split_base, tmp_path):
    dataset = split_base / "dataset"
    found = split_lib.duplicates(
        threshold=LEAK_THRESHOLD, across=[dataset / "train", dataset / "test"], progress=False
    )
    frame = found.to_pandas()
    assert sorted(Path(p).name for p in frame["path"]) == sorted(LEAKS)
    assert set(frame["match_set"]) == {0} and set(frame["set"]) == {1}
    plan = split_lib.quarantine_plan(found, tmp_path / "leaked")
    assert sorted(m.src.name for m in plan.moves) == sorted(LEAKS)  # test images go
    assert all(m.keeper_path.startswith(str(dataset / "train")) for m in plan.moves)
    assert all(m.src.exists() for m in plan.moves)  # a dry run: nothing moved


def test_the_cli_lists_the_same_leaks_as_json_and_csv(split_lib, split_env, split_base, tmp_path):
    dataset = split_base / "dataset"
    train, test = str(dataset / "train"), str(dataset / "test")
    threshold = ("--threshold", str(LEAK_THRESHOLD))
    data = invoke_cli_json(split_env, "dups", "--across", train, "--across", test, *threshold)
    api = split_lib.duplicates(threshold=LEAK_THRESHOLD, across=[train, test], progress=False)
    assert data["leaks"] == json.loads(json.dumps(api.to_dict()["leaks"]))
    assert data["sets"] == [train, test]
    table = tmp_path / "leaks.csv"
    invoke_cli(split_env, "dups", "--across", train, "--across", test, *threshold, "--csv",
               str(table))  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(table.read_text())))
    assert {Path(r["path"]).name: (Path(r["match_path"]).name, r["match"]) for r in rows} == LEAKS


def test_the_leaks_as_parquet_are_the_csvs_rows_typed(split_env, split_base, tmp_path):
    import duckdb

    dataset = split_base / "dataset"
    train, test = str(dataset / "train"), str(dataset / "test")
    across = ("--across", train, "--across", test, "--threshold", str(LEAK_THRESHOLD))
    invoke_cli(split_env, "dups", *across, "--parquet", str(tmp_path / "leaks.parquet"))
    rows = duckdb.sql(
        f"SELECT path, match_path, match, similarity, set, match_set "
        f"FROM '{tmp_path / 'leaks.parquet'}'"
    ).fetchall()
    assert {Path(p).name: (Path(m).name, kind) for p, m, kind, *_ in rows} == LEAKS
    assert all(isinstance(sim, float) and (s, ms) == (1, 0) for *_, sim, s, ms in rows)
    refused = invoke_cli(split_env, "dups", "--parquet", str(tmp_path / "x.parquet"), code=2)
    assert "--parquet goes with --across" in " ".join(refused.stderr.split())
    assert not (tmp_path / "x.parquet").exists()


def test_a_dry_run_quarantine_of_the_leaks_moves_nothing(split_env, split_base, tmp_path):
    dataset = split_base / "dataset"
    across = ("--across", str(dataset / "train"), "--across", str(dataset / "test"))
    dest = tmp_path / "leaked"
    plan = invoke_cli_json(
        split_env, "dups", "quarantine", str(dest), *across, "--threshold", str(LEAK_THRESHOLD)
    )
    assert plan["applied"] is False
    moved = [Path(m["src"]).name for m in plan["moves"]]
    assert sorted(moved) == sorted(LEAKS)
    assert not dest.exists() and all((dataset / "test" / name).exists() for name in LEAKS)


@pytest.mark.parametrize(
    ("folders", "words"),
    [
        (["train"], "two or more folders"),
        (["train", "train/backup"], "share 1 images"),
        (["train", "nowhere"], "no such folder"),
    ],
)
def test_wrong_sets_fail_in_one_line_naming_the_folder(split_lib, split_base, folders, words):
    dataset = split_base / "dataset"
    with pytest.raises(vitrieve.VitrieveError, match=words) as caught:
        split_lib.duplicates(across=[dataset / f for f in folders], progress=False)
    assert "\n" not in str(caught.value)

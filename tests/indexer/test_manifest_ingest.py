"""`vitrieve ingest --from-file LIST`: a dataset given as a list of files (text, stdin, NUL-
separated, CSV, Parquet) is ingested through the ingest stages, file by file as listed; files
outside every root are refused in one line or register their common folder; missing and
non-image entries are failures with their reason, never an aborted ingest."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support import cli_env, invoke_cli, invoke_cli_json, write_photos


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return cli_env(tmp_path / "home")


@pytest.fixture
def files(photos: Path) -> list[Path]:
    return sorted(p for p in photos.rglob("*") if p.is_file())


def roots(env) -> list[str]:
    return [r["path"] for r in invoke_cli_json(env, "roots", "list")]


def test_a_list_of_lines_ingests_what_it_names_and_reports_what_it_cannot(env, photos, files):
    listing = photos.parent / "list.txt"
    names = [str(p) for p in files[:3]] + [str(photos / "gone.jpg"), str(photos / "notes.txt")]
    listing.write_text("\n".join(names) + "\n")

    summary = invoke_cli_json(env, "ingest", "--from-file", str(listing), "--add-root")

    assert (summary["new"], summary["embedded"], summary["failed"]) == (3, 3, 2)
    assert {Path(f["path"]).name: f["reason"] for f in summary["failures"]} == {
        "gone.jpg": "no such file",
        "notes.txt": "not an image file name (.txt)",
    }
    assert summary["new_root"] == str(photos) and roots(env) == [str(photos)]
    # Only the listed files: the folder was registered, not walked.
    assert invoke_cli_json(env, "status")["embedded"] == 3


def test_a_list_never_marks_the_unlisted_files_of_a_root_missing(env, photos, files):
    invoke_cli(env, "ingest", str(photos))
    listing = photos.parent / "two.txt"
    listing.write_text("\n".join(str(p) for p in files[:2]))

    summary = invoke_cli_json(env, "ingest", "--from-file", str(listing))

    assert (summary["unchanged"], summary["missing"], summary["new_root"]) == (2, 0, None)
    assert invoke_cli_json(env, "status")["embedded"] == len(files)


def test_files_outside_every_root_are_refused_in_one_line_naming_the_list(env, photos, files):
    listing = photos.parent / "list.txt"
    listing.write_text(str(files[0]))

    result = invoke_cli(env, "ingest", "--from-file", str(listing), code=1)

    assert result.stderr.count("\n") == 1
    assert str(listing) in result.stderr and "--add-root" in result.stderr
    assert roots(env) == []


def test_stdin_and_nul_separated_lists(env, photos, files, tmp_path):
    odd = photos / "new\nline.jpg"  # a name only a NUL-separated list can carry
    odd.write_bytes(files[0].read_bytes())
    invoke_cli(env, "ingest", "--from-file", "-", "--add-root", stdin=f"{files[1]}\n")
    nul = tmp_path / "list0"
    nul.write_bytes(os.fsencode(odd) + b"\0" + os.fsencode(files[2]) + b"\0")

    summary = invoke_cli_json(env, "ingest", "--from-file", str(nul), "-0")

    assert (summary["new"], summary["failed"]) == (2, 0)
    assert invoke_cli_json(env, "status")["embedded"] == 3


def exported_tags(env) -> dict[str, list[str]]:
    rows = invoke_cli(env, "export", "--format", "jsonl", "--no-duplicates").stdout.splitlines()
    return {Path(r["path"]).name: r["tags"] for r in map(__import__("json").loads, rows)}


def test_csv_manifest_relative_paths_custom_column_and_tag_columns(env, photos, files):
    manifest = photos / "dataset.csv"  # paths relative to the manifest's folder

    def write(labels: dict[int, str]) -> None:
        with open(manifest, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["file", "label", "split"])
            for i, p in enumerate(files[:3]):
                out.writerow([p.relative_to(photos).as_posix(), labels.get(i, ""), "train"])

    write({0: "cat", 1: "dog"})  # the third has no label: no "label=" tag
    args = ["--from-file", str(manifest), "--path-column", "file", "--tag-columns", "label,split"]
    summary = invoke_cli_json(env, "ingest", *args, "--add-root")
    assert (summary["new"], summary["tags"]) == (3, 5)
    tags = exported_tags(env)
    assert tags[files[0].name] == ["label=cat", "split=train"]
    assert tags[files[2].name] == ["split=train"]
    tagged = invoke_cli_json(env, "search", str(files[2]), "--tag", "label=cat")
    assert [Path(r["path"]).name for r in tagged] == [files[0].name]

    write({0: "bird", 1: "dog"})  # relabelled: the old label goes
    invoke_cli(env, "ingest", *args)
    assert exported_tags(env)[files[0].name] == ["label=bird", "split=train"]


def test_parquet_manifest(env, photos, files, tmp_path):
    manifest = tmp_path / "set.parquet"
    table = pa.table({"path": [str(p) for p in files[:2]], "split": ["test", "test"]})
    pq.write_table(table, manifest)

    summary = invoke_cli_json(
        env, "ingest", "--from-file", str(manifest), "--tag-columns", "split", "--add-root"
    )

    assert (summary["new"], summary["tags"]) == (2, 2)
    assert exported_tags(env)[files[1].name] == ["split=test"]


@pytest.mark.parametrize(
    ("name", "content", "args", "words"),
    [
        ("set.csv", "file\na.jpg\n", [], "no column 'path' (columns: file)"),
        ("set.csv", "path\na.jpg\n", ["--tag-columns", "label"], "no column 'label'"),
        ("set.parquet", "not parquet", [], "not a Parquet file"),
        ("list.txt", "\n\n", [], "the manifest lists no files"),
        ("list.txt", "a.jpg", ["--tag-columns", "label"], "needs a CSV or Parquet manifest"),
    ],
)
def test_a_bad_manifest_is_one_line_naming_it(env, tmp_path, name, content, args, words):
    manifest = tmp_path / name
    manifest.write_text(content)

    result = invoke_cli(env, "ingest", "--from-file", str(manifest), *args, code=1)

    assert result.stderr.count("\n") == 1
    assert str(manifest) in result.stderr and words in result.stderr


def test_a_missing_manifest_and_folders_with_a_manifest(env, tmp_path):
    gone = invoke_cli(env, "ingest", "--from-file", str(tmp_path / "no.txt"), code=1)
    assert f"{tmp_path / 'no.txt'}: no such manifest file" in gone.stderr
    both = invoke_cli(env, "ingest", str(tmp_path), "--from-file", "x.txt", code=2)
    assert "not both" in both.stderr


@pytest.fixture
def photos(tmp_path) -> Path:
    return write_photos(tmp_path / "photos")

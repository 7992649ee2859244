"""What a first-time user reads from the CLI: whole sentences, counts that agree with their
nouns, one ingest rate, a `jobs` that says why it is empty, a `--help` that starts with the main
commands, `ui` refusing a busy port before it names a URL (issue 22, "CLI rough edges")."""

from __future__ import annotations

import io
import re
import shutil
import socket
from pathlib import Path

import pytest
from rich.console import Console

from tests.support import cli_env, invoke_cli, invoke_cli_json, run_cli
from vitrieve.ui.cli import table
from vitrieve.ui.cli.text import count, say


@pytest.fixture
def env(tmp_path: Path, photos: Path) -> dict[str, str]:
    shutil.copy(photos / "astronaut.jpg", photos / "trip" / "astronaut copy.jpg")
    env = cli_env(tmp_path / "home")
    invoke_cli(env, "ingest", str(photos))
    return env


def test_counts_agree_with_their_nouns():
    assert [count(0, "file"), count(1, "file"), count(2, "file")] == [
        "0 files",
        "1 file",
        "2 files",
    ]
    assert count(1, "batch", "batches") == "1 batch" and count(3, "batch", "batches") == "3 batches"


def test_dups_says_one_group_not_one_groups(env):
    proc = invoke_cli(env, "dups", "--exact-only")
    assert "1 group (1 with exact copies, 0 near only) among 7 images" in proc.stderr


def test_a_second_ingest_and_an_ingest_of_copies_show_no_zero_rate(env, photos: Path):
    again = invoke_cli(env, "ingest", str(photos))
    assert "nothing new to embed" in again.stdout and "img/s" not in again.stdout
    shutil.copy(photos / "coffee.jpg", photos / "coffee again.jpg")
    copies = invoke_cli(env, "ingest", str(photos))
    assert "embedded 1 image (copies of images already embedded)" in copies.stdout
    assert "img/s" not in copies.stdout


def test_tag_show_takes_a_catalog_id_as_the_number_it_is(env, photos: Path):
    shown = invoke_cli_json(env, "tag", "show", "4")
    assert shown["image_id"] == 4
    plain = invoke_cli(env, "tag", "show", "4")
    assert plain.stdout.strip().endswith(" has no tags") and "image 4" not in plain.stdout
    assert str(photos) in plain.stdout  # named by its file, not by its id


def test_jobs_without_a_broker_says_there_is_none_and_what_to_do(env):
    proc = invoke_cli(env, "jobs")
    said = proc.stdout + proc.stderr
    assert "no broker is set (VITRIEVE_BROKER_URL)" in said and "vitrieve worker" in said


def test_status_json_ends_with_a_newline(env):
    assert invoke_cli(env, "status", "--json").stdout.endswith("}\n")


def test_help_lists_the_main_commands_first_without_type_noise(tmp_path: Path):
    env = cli_env(tmp_path / "home") | {"COLUMNS": "100"}
    top = invoke_cli(env, "--help").stdout
    listed = re.findall(r"^\S (\w+) {2,}", top, re.MULTILINE)
    assert listed[:5] == ["ingest", "search", "dups", "status", "ui"]
    assert listed.index("tag") < listed.index("jobs") < listed.index("model")
    assert "Background and maintenance" in top
    for args in (["--help"], ["jobs", "--help"], ["search", "--help"], ["dups", "undo", "--help"]):
        shown = invoke_cli(env, *args).stdout
        assert "<bool>" not in shown and "9223372036854775807" not in shown, args


def test_a_long_message_wraps_between_words_on_a_terminal_and_stays_one_line_in_a_pipe():
    words = "no background jobs: no broker is set, so ingest runs in its own process " * 3
    terminal = Console(file=io.StringIO(), width=40, force_terminal=True, color_system=None)
    say(words, console=terminal)
    lines = terminal.file.getvalue().splitlines()
    assert len(lines) > 2 and all(len(x) <= 40 for x in lines)
    assert " ".join(x.strip() for x in lines) == words.strip()  # every break between words
    pipe = Console(file=io.StringIO(), width=40, force_terminal=False)
    say(words, console=pipe)
    assert pipe.file.getvalue() == words + "\n"


def test_groups_of_one_listing_share_one_layout():
    terminal = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    groups = []
    for folder in ("/p", "/photos/" + "x" * 150):  # the second too long to fold in a column
        records = table.Records(["keep", table.Col("size", "right")], path="file", title=folder)
        records.add("keep", "1 kB", path=f"{folder}/a.jpg")
        records.add("", "1 kB", path=f"{folder}/b.jpg")
        groups.append(records)
    table.print_together(groups, terminal)
    headers = [x.split() for x in terminal.file.getvalue().splitlines() if x.startswith("name")]
    assert headers == [["name", "keep", "size"]] * 2  # both stack the folder under the name


def test_ui_on_a_busy_port_fails_before_announcing_a_url(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli(cli_env(tmp_path / "home"), "ui", "--port", str(port), code=1)
    assert "http://" not in proc.stderr + proc.stdout
    assert f"127.0.0.1:{port}: cannot listen there" in proc.stderr
    assert "--port" in proc.stderr


def test_keeper_decisions_name_their_files_not_their_ids(env, photos: Path):
    marked = invoke_cli(env, "dups", "keep", "1").stdout
    assert marked.splitlines()[0] == "marked 1 keeper" and str(photos) in marked
    removed = invoke_cli(env, "dups", "decisions", "remove", "keep:1").stdout
    assert removed.startswith("removed keep:1 (keep): ") and str(photos) in removed

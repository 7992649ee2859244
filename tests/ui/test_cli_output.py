"""What listing commands print: a table that fits an 80-column terminal with every file name
whole, or one TAB-separated record per line when stdout is a pipe (ui/cli/table.py).

Most checks run the typer app in-process (one model load for the module); the terminal form
there is forced by giving the listings a console 80 columns wide that claims to be a terminal.
Two tests run the real `vitrieve` process with COLUMNS=80 and TTY_COMPATIBLE=1, the way a
terminal (or `script`) would present itself, to show the environment route works too.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from tests.support import TINY_VIT, cli_env, cli_invoker, real_photo, run_cli
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.ui.cli import table
from vitrieve.ui.cli.table import Col, Records

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LONG_FOLDER = "Pictures 2024/holiday in spain with the family/day 3 - the beach at last"
NAMES = {
    "IMG_20240812_183456_HDR.jpg": "chelsea",
    "IMG_20240812_183456_HDR copy.jpg": None,  # a byte copy: an exact duplicate group
    "astronaut portrait.jpg": "astronaut",
    "coffee.jpg": "coffee",
    os.fsdecode(b"caf\xe9 cr\xe8me.jpg"): "rocket",  # a Latin-1 name: shown as caf\xe9 cr\xe8me
}
SHOWN = {name: name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
         for name in NAMES}  # fmt: skip


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> tuple[Path, Path]:
    """(home, folder): the photos under a long folder name, ingested once for the module."""
    base = tmp_path_factory.mktemp("out")
    folder = base / "photos" / LONG_FOLDER
    folder.mkdir(parents=True)
    for name, photo in NAMES.items():
        if photo:
            real_photo(photo).save(folder / name, quality=90)
    shutil.copy2(
        folder / "IMG_20240812_183456_HDR.jpg", folder / "IMG_20240812_183456_HDR copy.jpg"
    )
    settings = Settings(
        home=base / "home", model=str(TINY_VIT), precision="fp32", runtime="torch", batch_size=4
    )
    with Library(settings) as lib:
        summary = ingest(lib, [base / "photos"])
    assert summary.embedded == len(NAMES) and not summary.failures
    return settings.home, folder


@pytest.fixture
def invoke(catalog, monkeypatch):
    """Runs `vitrieve ARGS` in-process on the module's catalog; stdout is not a terminal."""
    home, _ = catalog
    return cli_invoker(cli_env(home), monkeypatch)


@pytest.fixture
def terminal(monkeypatch):
    """Listings print to an 80-column terminal (plain text, no colour codes)."""
    console = Console(width=80, force_terminal=True, color_system=None)
    monkeypatch.setattr(table, "out", console)
    return console


def record_lines(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines()]


def assert_fits(text: str, width: int = 80) -> list[str]:
    lines = ANSI.sub("", text).splitlines()
    assert lines and max(len(line) for line in lines) <= width, "\n" + "\n".join(lines)
    return lines


def assert_names_whole(lines: list[str], names) -> None:
    """Each file name appears whole on one line (not cut, not wrapped)."""
    for name in names:
        assert any(name in line for line in lines), f"{name!r} not whole in:\n" + "\n".join(lines)


# -- search ------------------------------------------------------------------------------------


def test_search_piped_prints_one_record_per_result_score_id_resolution_date_path(invoke, catalog):
    _, folder = catalog
    result = invoke("search", str(folder / "coffee.jpg"), "-k", "10")
    rows = record_lines(result.stdout)
    assert len(rows) == len(NAMES) - 1  # everything but the query itself
    assert all(len(r) == 5 for r in rows)
    assert {r[-1] for r in rows} == {f"{folder}/{SHOWN[n]}" for n in NAMES if n != "coffee.jpg"}
    scores = [float(r[0]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(r[1].isdigit() and re.fullmatch(r"\d+x\d+", r[2]) for r in rows)
    assert all(r[3] == "-" for r in rows)  # no capture date in these files: an empty field


def test_search_in_80_columns_keeps_every_file_name_whole(invoke, catalog, terminal):
    _, folder = catalog
    lines = assert_fits(invoke("search", str(folder / "coffee.jpg"), "-k", "10").stdout)
    assert lines[0].split()[:2] == ["name", "score"]
    assert_names_whole(lines, [SHOWN[n] for n in NAMES if n != "coffee.jpg"])
    assert any("day 3" in line for line in lines)  # the folder is there too, folded


# -- dups --------------------------------------------------------------------------------------


def test_dups_piped_prints_one_line_per_member_and_the_summary_on_stderr(invoke, catalog):
    _, folder = catalog
    result = invoke("dups", "--exact-only")
    rows = record_lines(result.stdout)
    assert sorted(r[-1] for r in rows) == [
        f"{folder}/IMG_20240812_183456_HDR copy.jpg",
        f"{folder}/IMG_20240812_183456_HDR.jpg",
    ]
    assert [r[1] for r in rows] == ["exact", "exact"]
    assert sorted(r[2] for r in rows) == ["exact", "keep"]  # the copy badged as exact
    assert all(len(r) == 10 for r in rows) and rows[0][0] == rows[1][0]  # same group id
    assert "1 group (1 with exact copies, 0 near only)" in result.stderr
    assert "group" not in result.stdout  # titles are for the terminal


def test_dups_in_80_columns_shows_groups_with_whole_names(invoke, terminal):
    lines = assert_fits(invoke("dups", "--exact-only").stdout)
    assert any(re.match(r"group \d+ \(exact\)", line) for line in lines)
    assert_names_whole(lines, ["IMG_20240812_183456_HDR.jpg", "IMG_20240812_183456_HDR copy.jpg"])
    assert sum(" keep " in f" {line} " for line in lines[1:]) >= 2  # the header and the keeper


# -- embed -------------------------------------------------------------------------------------


def test_embed_prints_one_line_per_vector_path_tab_numbers(invoke, catalog):
    _, folder = catalog
    files = [folder / "coffee.jpg", folder / os.fsdecode(b"caf\xe9 cr\xe8me.jpg")]
    rows = record_lines(invoke("embed", *map(str, files)).stdout)
    assert [r[0] for r in rows] == [f"{folder}/coffee.jpg", f"{folder}/caf\\xe9 cr\\xe8me.jpg"]
    assert all(len(r) == 2 and len(r[1].split(" ")) == 32 for r in rows)  # tiny ViT: 32-d
    assert sum(float(x) ** 2 for x in rows[0][1].split()) == pytest.approx(1, abs=1e-3)


# -- roots -------------------------------------------------------------------------------------


def test_roots_list_piped_is_id_watch_images_embedded_path(invoke, catalog):
    _, folder = catalog
    (row,) = record_lines(invoke("roots", "list").stdout)
    assert row == ["1", "-", str(len(NAMES)), str(len(NAMES)), str(folder.parents[2])]


# -- the real process, as a terminal and as a pipe ---------------------------------------------


def test_real_terminal_of_80_columns_and_real_pipe(catalog):
    home, folder = catalog
    env = cli_env(home)
    tty = env | {"COLUMNS": "80", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}
    lines = assert_fits(run_cli(tty, "search", str(folder / "coffee.jpg")).stdout)
    assert_names_whole(lines, [SHOWN[n] for n in NAMES if n != "coffee.jpg"])
    embedded = run_cli(tty, "embed", str(folder / "coffee.jpg")).stdout
    assert len(embedded.splitlines()) == 1  # one vector, one line, whatever the width

    piped = run_cli(env, "dups", "--exact-only")
    assert len(piped.stdout.splitlines()) == 2 and "\t" in piped.stdout
    assert "1 group (" in piped.stderr and "group" not in piped.stdout


# -- the renderer ------------------------------------------------------------------------------


def render(records: Records, width: int) -> list[str]:
    console = Console(width=width, force_terminal=True, color_system=None, record=True)
    with console.capture() as capture:
        records.print(console)
    return capture.get().splitlines()


def photo_rows() -> Records:
    records = Records(
        [Col("id", "right"), "resolution", Col("format", drop=2), Col("date", drop=1)],
        path="file",
    )
    for i in range(3):
        records.add(
            1000 + i,
            "4032x3024",
            "JPEG",
            "2024-08-12",
            path=f"/home/someone/{LONG_FOLDER}/IMG_2024_{i}.jpg",
        )
    return records


def test_a_wide_terminal_shows_every_column_on_one_line_per_record():
    lines = render(photo_rows(), 200)
    assert lines[0].split() == ["name", "id", "resolution", "format", "date", "folder"]
    assert len(lines) == 4 and all(f"/home/someone/{LONG_FOLDER}" in line for line in lines[1:])


def test_a_narrow_terminal_puts_the_folder_under_the_name_before_dropping_columns():
    lines = render(photo_rows(), 60)
    assert max(map(len, lines)) <= 60
    assert lines[0].split() == ["name", "id", "resolution", "format", "date"]
    assert_names_whole(lines, [f"IMG_2024_{i}.jpg" for i in range(3)])
    narrower = render(photo_rows(), 40)
    assert max(map(len, narrower)) <= 40 and narrower[0].split() == ["name", "id", "resolution"]
    assert_names_whole(narrower, [f"IMG_2024_{i}.jpg" for i in range(3)])


def test_a_name_longer_than_the_screen_folds_but_no_character_is_lost():
    records = Records([Col("id", "right")], path="file")
    name = "x" * 100 + ".jpg"
    records.add(1, path=f"/a/{name}")
    lines = render(records, 80)
    assert max(map(len, lines)) <= 80
    assert "".join(line.split()[0] for line in lines[1:]) == name  # the name column's pieces


def test_file_names_cannot_break_lines_or_drive_the_terminal():
    records = Records(["note"], path="file")
    records.add("a\tb", path=os.fsdecode(b"/x/evil\n\x1b[31mred\xff.jpg"))
    lines = render(records, 80)
    assert all("\x1b" not in line for line in lines)
    assert any("evil\\x0a\\x1b[31mred\\xff.jpg" in line for line in lines)
    records.print(Console(file=(piped := io.StringIO())))
    assert piped.getvalue() == "a\\x09b\t/x/evil\\x0a\\x1b[31mred\\xff.jpg\n"


def test_columns_empty_in_every_row_are_left_out_of_the_table_but_not_the_records():
    records = Records(["kind", "date"], path="folder")
    records.add("exact", "", path="/photos")
    assert render(records, 80)[0].split() == ["kind", "path"]
    console = Console(file=(piped := io.StringIO()))
    records.print(console)
    assert piped.getvalue() == "exact\t-\t/photos\n"

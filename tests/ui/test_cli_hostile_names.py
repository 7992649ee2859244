"""File names chosen to forge output: control characters (TAB, CR, LF, ESC sequences), rich
markup and a name that is not UTF-8, in a folder whose own name holds a TAB and an ESC.

Through every piped listing each record must be one line with the documented number of fields
and the real name recoverable from it; on a terminal no control character may reach the screen
and no name may be read as markup (README "Output in a terminal and in a pipe", ui/cli/text.py).
The commands run in-process on real files ingested with the tiny ViT.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support import TINY_VIT, cli_env, real_photo
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.ui.cli import errors
from vitrieve.ui.cli.main import app
from vitrieve.ui.cli.text import shown

HOSTILE = [
    "tab\there.jpg",
    "cr\rhere.jpg",
    "lf\nhere.jpg",
    "esc\x1b[31mred.jpg",
    "a[/red]x.jpg",
    "d[bold red]e.jpg",
    os.fsdecode(b"caf\xe9.jpg"),
    "nel\x85c1.jpg",  # a C1 control: U+0085, not the byte 0x85 of a Latin-1 name
    "rlo\u202egpj.exe.jpg",  # a bidi override: shows as "rlo" + "exe.jpg" reversed
    "ls\u2028sep.jpg",  # a line separator: a line break to str.splitlines and many viewers
]
MARKUP = ["a[/red]x.jpg", "d[bold red]e.jpg"]  # the first is red]x.jpg in a folder "a["
BROKEN = "a[/bad\t]\x1b[2J\n\x85name.jpg"  # not a picture: listed by `failures`
FOLDER = "photos\tof\x1b[1mme\x9b"  # the root: every path has a TAB, an ESC and a C1 CSI
_ESCAPE = re.compile(r"\\x([0-9a-f]{2})|\\u([0-9a-f]{4})")


def real_bytes(shown: str) -> bytes:
    """The name a displayed field stands for: ``\\xNN`` a byte, ``\\uNNNN`` a character."""
    out, last = bytearray(), 0
    for m in _ESCAPE.finditer(shown):
        out += shown[last : m.start()].encode()
        out += bytes([int(m[1], 16)]) if m[1] else chr(int(m[2], 16)).encode()
        last = m.end()
    return bytes(out + shown[last:].encode())


def records(stdout: str, fields: int) -> list[list[str]]:
    """One record per line, each with `fields` TAB-separated fields."""
    assert stdout.endswith("\n"), repr(stdout)
    rows = [line.split("\t") for line in stdout[:-1].split("\n")]
    assert all(len(r) == fields for r in rows), "\n".join(map(repr, rows))
    return rows


def rels(paths, root: Path) -> set[bytes]:
    """The real paths of displayed ``paths``, relative to ``root``."""
    return {os.path.relpath(real_bytes(p), os.fsencode(root)) for p in paths}


WANTED = {os.fsencode(n) for n in HOSTILE}


def make_library(base: Path) -> Path:
    """keeper.jpg and a byte copy of it under each hostile name (one exact group, the keeper
    oldest), two other photos, and a broken file with a hostile name."""
    root = base / FOLDER
    root.mkdir(parents=True)
    real_photo("astronaut").save(root / "keeper.jpg", quality=90)
    os.utime(root / "keeper.jpg", (1_000_000_000, 1_000_000_000))
    (root / "a[").mkdir()
    for name in HOSTILE:
        shutil.copy(root / "keeper.jpg", root / name)
    real_photo("coffee").save(root / "coffee.jpg", quality=90)
    real_photo("rocket").save(root / "rocket.jpg", quality=90)
    (root / BROKEN).write_bytes(b"not a picture")
    return root


def ingested(base: Path) -> tuple[Path, Path]:
    root = make_library(base)
    settings = Settings(
        home=base / "home", model=str(TINY_VIT), precision="fp32", runtime="torch", batch_size=4
    )
    with Library(settings) as lib:
        summary = ingest(lib, [root])
    assert summary.embedded == len(HOSTILE) + 3 and len(summary.failures) == 1
    return settings.home, root


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> tuple[Path, Path]:
    """(home, root) ingested once for the read-only checks of the module."""
    return ingested(tmp_path_factory.mktemp("hostile"))


def invoker(home: Path, monkeypatch):
    """`vitrieve ARGS` in-process; returns typer's Result whatever the exit status."""
    for key, value in cli_env(home).items():
        if key.startswith("VITRIEVE_"):
            monkeypatch.setenv(key, value)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


@pytest.fixture
def invoke(catalog, monkeypatch):
    return invoker(catalog[0], monkeypatch)


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result


# -- piped: one record per line, the real name recoverable --------------------------------------


def test_search_piped_keeps_one_record_per_result_with_the_real_names(invoke, catalog):
    _, root = catalog
    rows = records(ok(invoke("search", str(root / "keeper.jpg"), "-k", "20")).stdout, 5)
    assert rels((r[-1] for r in rows), root) == WANTED | {b"coffee.jpg", b"rocket.jpg"}


def test_dups_piped_keeps_one_record_per_member_with_the_real_names(invoke, catalog):
    _, root = catalog
    rows = records(ok(invoke("dups", "--exact-only")).stdout, 10)
    assert rels((r[-1] for r in rows), root) == WANTED | {b"keeper.jpg"}
    assert rels((r[-1] for r in rows if r[2] == "keep"), root) == {b"keeper.jpg"}


def test_quarantine_dry_run_piped_keeps_one_record_per_move(invoke, catalog, tmp_path):
    _, root = catalog
    result = ok(invoke("dups", "quarantine", str(tmp_path / "q"), "--exact-only"))
    rows = records(result.stdout, 8)  # group, kind, keeper, similarity, reason, size, src, dst
    assert rels((r[6] for r in rows), root) == WANTED
    assert all(os.path.lexists(real_bytes(r[6])) for r in rows)  # each names a real file
    for *_, src, dst in rows:  # mirrored under the quarantine
        assert real_bytes(dst).endswith(b"/" + os.path.relpath(real_bytes(src), os.fsencode(root)))
    assert {real_bytes(r[2]) for r in rows} == {os.fsencode(root / "keeper.jpg")}
    assert f"dry run: {len(HOSTILE)} files" in result.stderr and not (tmp_path / "q").exists()


def test_failures_piped_is_one_record_with_the_real_name(invoke, catalog):
    _, root = catalog
    ((image_id, reason, path),) = records(ok(invoke("failures")).stdout, 3)
    assert real_bytes(path) == os.fsencode(root / BROKEN) and image_id.isdigit()
    assert "not an image" in reason


def test_roots_list_piped_is_one_record_with_the_real_folder(invoke, catalog):
    _, root = catalog
    ((_, watch, images, _, path),) = records(ok(invoke("roots", "list")).stdout, 5)
    assert real_bytes(path) == os.fsencode(root) and (watch, images) == ("-", str(len(HOSTILE) + 4))


def test_decisions_and_undo_show_hostile_names_one_per_line(tmp_path, monkeypatch):
    home, root = ingested(tmp_path)
    invoke = invoker(home, monkeypatch)
    members = {
        real_bytes(r[-1]): r[3] for r in records(ok(invoke("dups", "--exact-only")).stdout, 10)
    }
    hostile_ids = [members[os.fsencode(root / n)] for n in HOSTILE]
    ok(invoke("dups", "keep", *hostile_ids))
    rows = records(ok(invoke("dups", "decisions")).stdout, 5)  # id, kind, group, date, files
    assert rels((r[-1] for r in rows), root) == WANTED
    assert {r[0] for r in rows} == {f"keep:{i}" for i in hostile_ids}
    ok(invoke("dups", "keep", "--remove", *hostile_ids))

    dest = tmp_path / "q"
    ok(invoke("dups", "quarantine", str(dest), "--exact-only", "--apply"))
    assert not any(os.path.lexists(root / n) for n in HOSTILE)
    taken = [*MARKUP, "esc\x1b[31mred.jpg"]
    for name in taken:  # their places taken by other files: these cannot go back
        (root / name).write_bytes(b"someone else's file")
    undone = invoke("dups", "undo")
    assert undone.exit_code != 0 and f"restored {len(HOSTILE) - 3} files" in undone.stdout
    lines = undone.stderr.rstrip("\n").split("\n")
    assert len(lines) == 3, lines  # one a file, each naming it as it is
    assert rels((line.split(": ")[0] for line in lines), dest / root.name) == {
        os.fsencode(n) for n in taken
    }


# -- markup: a name is never a style -------------------------------------------------------------


def test_a_failed_move_of_a_markup_name_is_reported_under_its_real_name(tmp_path, monkeypatch):
    home, root = ingested(tmp_path)
    invoke = invoker(home, monkeypatch)
    for name in MARKUP:
        (root / name).unlink()  # vanished since the ingest: their moves fail
    result = invoke("dups", "quarantine", str(tmp_path / "q"), "--exact-only", "--apply")
    assert "MarkupError" not in repr(result.exception), result.exception
    reported = [line for line in result.stderr.split("\n") if "x.jpg" in line or "e.jpg" in line]
    for name in MARKUP:
        assert any(line.startswith(f"{shown(root)}/{name}: ") for line in reported), result.stderr


def test_an_error_naming_a_hostile_file_is_one_line_that_cannot_drive_the_terminal(
    catalog, monkeypatch, capsys
):
    home, root = catalog
    invoker(home, monkeypatch)  # the catalog's settings
    missing = root / "gone\x1b[31m\t[/red].jpg"
    monkeypatch.setattr("sys.argv", ["vitrieve", "search", str(missing)])
    assert errors.run(app) == 1
    line = capsys.readouterr().err
    assert line.startswith("error: ") and line.endswith("\n") and line.count("\n") == 1
    assert not re.search("[\t\x1b\x9b]", line) and "gone\\x1b[31m\\x09[/red].jpg" in line


# -- on a terminal ------------------------------------------------------------------------------


def test_a_terminal_never_receives_a_control_character_or_markup_from_a_name(
    invoke, catalog, tmp_path, monkeypatch
):
    _, root = catalog
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich's consoles now take stdout for a terminal
    # wide enough that no folder folds over lines, however long the temporary folder's path
    monkeypatch.setenv("COLUMNS", "1000")
    results = [
        ok(invoke("search", str(root / "keeper.jpg"), "-k", "20")),
        ok(invoke("dups", "--exact-only")),
        ok(invoke("dups", "quarantine", str(tmp_path / "q"), "--exact-only")),
        ok(invoke("failures")),
        ok(invoke("roots", "list")),
    ]
    text = "".join(r.stdout for r in results)
    assert not re.search("[\t\r\x1b\x85\x9b\u202e\u2028]", text)
    for name in [*HOSTILE, BROKEN]:
        assert name not in text or name in MARKUP
    assert "esc\\x1b[31mred.jpg" in text and "tab\\x09here.jpg" in text and "caf\\xe9" in text
    # whole in each of search, dups and the plan (tables show a[/red]x.jpg as red]x.jpg in a[)
    assert text.count("d[bold red]e.jpg") >= 3 and text.count("red]x.jpg") >= 3
    assert f"{shown(root.name)}/a[/red]x.jpg" in text

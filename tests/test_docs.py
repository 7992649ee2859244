"""The docs agree with the code (in the spirit of datasette's test_docs.py): every setting a
user can set is documented, and every `vitrieve ...` command line the docs show exists, with
every option it uses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main

from vitrieve.core.config import ENV_PREFIX, Settings
from vitrieve.ui.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def doc_text() -> str:
    return "\n".join(p.read_text() for p in DOCS)


def command_lines() -> list[tuple[str, str]]:
    """(where, line) for each `vitrieve ...` line of a shell code block in the docs."""
    found = []
    for page in DOCS:
        in_block = False
        for lineno, line in enumerate(page.read_text().splitlines(), 1):
            if line.startswith("```"):
                in_block = line.strip() in {"```bash", "```sh", "```console", "```shell"}
                continue
            text = line.split(" #")[0].strip().removeprefix("$ ")
            if in_block and text.startswith("vitrieve "):
                found.append((f"{page.name}:{lineno}", text))
    return found


def is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")  # typer may vendor its own click: no isinstance


def resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The (sub)command a command line runs, and the words left for it."""
    command = typer.main.get_command(app)
    while words and is_group(command):
        sub = command.get_command(None, words[0])
        if sub is None:
            break
        command, words = sub, words[1:]
    return command, words


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field):
    assert f"{ENV_PREFIX}{field.upper()}" in doc_text()


def test_the_docs_show_commands_at_all():
    assert len(command_lines()) > 30


@pytest.mark.parametrize(("where", "line"), command_lines(), ids=lambda v: v)
def test_every_command_the_docs_show_exists(where, line):
    words = shlex.split(line.replace("~", "HOME"))[1:]
    command, rest = resolve(words)
    assert not is_group(command) or not rest or rest[0].startswith("-"), (
        f"{where}: no command `{' '.join(words[: len(words) - len(rest) + 1])}`"
    )
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    used = {w.split("=")[0] for w in rest if re.match(r"--?[A-Za-z]", w)}
    assert used <= known | {"--help"}, f"{where}: unknown options {sorted(used - known)}"

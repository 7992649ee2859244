"""docs/PYTHON.md's examples run as written (as datasette tests its docs): every ```python block
is executed, in order, in a folder holding the `dataset/` of real photos the page describes,
with the VITRIEVE_* variables aimed at that library (tests/support/splits.py). An example that
raises, or a page that lost its examples, fails here."""

from __future__ import annotations

import re

import pytest

from tests.support import REPO, cli_env

PAGE = REPO / "docs" / "PYTHON.md"


def examples() -> list[tuple[int, str]]:
    """(line, code) of each ```python block of the page."""
    text = PAGE.read_text()
    return [
        (text[: m.start()].count("\n") + 1, m.group(1))
        for m in re.finditer(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)
    ]


def test_the_page_has_an_example_of_each_public_function():
    code = "\n".join(c for _, c in examples())
    for call in ("vitrieve.open(", ".ingest(", ".search(", ".duplicates(", "across=",
                 ".to_pandas()", ".to_imagededup(", ".embed(", ".tags(", ".labels()",
                 ".quarantine_plan(", "vitrieve.VitrieveError"):  # fmt: skip
        assert call in code, call


@pytest.mark.parametrize(("line", "code"), examples(), ids=lambda v: str(v)[:12])
def test_each_example_runs(line, code, split_base, tmp_path, monkeypatch, capsys):
    (tmp_path / "dataset").symlink_to(split_base / "dataset")
    monkeypatch.chdir(tmp_path)
    for key, value in cli_env(split_base / "home").items():
        if key.startswith("VITRIEVE_"):
            monkeypatch.setenv(key, value)
    exec(compile(code, f"{PAGE}:{line}", "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out.strip(), "an example prints what it shows"

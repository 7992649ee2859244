"""The tests are a library, not a web of imports: plain helpers live in tests/support and are
imported as `from tests.support import NAME`; fixtures live in conftest.py files and reach
tests through pytest; no test module imports another test module or a conftest, and no
file takes another's private `_name`."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import tests.support

TESTS = Path(__file__).parent
REPO = TESTS.parent


def python_files() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def imports_of(source: str) -> list[tuple[int, str, str | None]]:
    """(line, module, name) for every import, functions included; name None for `import m`."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):  # relative: tests have no packages but support
            found.append((node.lineno, "." * node.level + (node.module or ""), None))
    return found


def wrong_imports(source: str) -> list[str]:
    """What a test file must not import: a conftest, a test module, another file's private
    name, or anything of tests/ but tests.support."""
    wrong = []
    for line, module, name in imports_of(source):
        parts = module.split(".")
        target = [*parts, name] if name and module != "tests.support" else parts
        if module.startswith("."):
            wrong.append(f"{line}: relative import {module}")
        elif parts[0] != "tests":
            continue
        elif any(p == "conftest" or p.startswith("test_") for p in target):
            wrong.append(f"{line}: imports a conftest or a test module: {module} {name or ''}")
        elif parts[:2] != ["tests", "support"]:
            wrong.append(f"{line}: imports {module} (helpers come from tests.support)")
        elif name and name.startswith("_"):
            wrong.append(f"{line}: imports the private name {module}.{name}")
    return wrong


def test_the_checker_finds_each_kind_of_wrong_import():
    source = (
        "from tests.conftest import run_cli\n"
        "from tests.search.test_dup_find import clone_library\n"
        "def f():\n    import tests.ui.conftest\n"
        "from tests.exif_files import camera_exif\n"
        "from tests.support.cli import _as_a_new_process\n"
        "from tests.support import TINY_VIT\n"
        "from tests.support.live import run_server\n"
    )
    assert sorted(int(w.split(":")[0]) for w in wrong_imports(source)) == [1, 2, 4, 5, 6]


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(TESTS)))
def test_no_test_file_imports_a_conftest_a_test_module_or_a_private_helper(path: Path):
    rel = path.relative_to(REPO)
    assert wrong_imports(path.read_text()) == [], rel


def test_conftest_files_hold_fixtures_and_hooks_only():
    """A plain helper in a conftest could only be reached by importing the conftest."""
    helpers = []
    for conftest in TESTS.rglob("conftest.py"):
        for node in ast.parse(conftest.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith(
                ("_", "pytest_")
            ):
                fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
                if not fixture:
                    helpers.append(f"{conftest.relative_to(REPO)}: {node.name}")
    assert helpers == []


def test_every_support_name_is_importable_from_tests_support():
    missing = [
        name
        for name in tests.support.__all__
        if getattr(importlib.import_module("tests.support"), name, None) is None
    ]
    assert missing == []


def test_every_public_name_of_a_support_module_is_exported():
    """So `from tests.support import NAME` works for all of them (and stays one flat list)."""
    unexported = []
    for module in sorted((TESTS / "support").glob("*.py")):
        if module.name == "__init__.py":
            continue
        for node in ast.parse(module.read_text()).body:
            targets: list[str] = []
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                targets = [node.name]
            elif isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                targets = [node.target.id]
            unexported += [
                f"{module.stem}.{n}"
                for n in targets
                if not n.startswith("_") and n not in tests.support.__all__
            ]
    assert unexported == []

"""Every module a docstring, comment or doc page names exists.

Renames leave stale pointers behind ("see `indexer.index_file`", "search/dup_actions.py") that
send the next reader to a module that is gone. This reads every Python file of the project and
every Markdown page, picks out the dotted module names (`indexer.index.store`,
`vitrieve.search.query.search`) and the file paths (`ui/cli/table.py`) they mention, and fails
on any that does not resolve: a module or package, or a name defined in one."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("core", "tables", "migrations", "indexer", "search", "worker", "ui")
DOTTED = re.compile(r"(?<![\w./-])(?:vitrieve\.)?(?:" + "|".join(LAYERS) + r")(?:\.[A-Za-z_]\w*)+")
PATH = re.compile(
    r"(?<![\w./-])(?:vitrieve/|tests/|benchmarks/|scripts/)?(?:"
    + "|".join(LAYERS)
    + r")/[\w/]*\w+\.py(?![\w.]\w)"
)
NOT_MODULES = {"core.symlinks"}  # git's setting, named where the docs explain the links
FILE_SUFFIXES = {"py", "log", "txt", "md", "json", "csv", "toml", "yml", "yaml", "db"}
SKIP = {"tests/fixtures", "build", ".venv", "dist", ".git", ".vitrieve"}


def project_files() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT)
        if any(str(rel).startswith(s) for s in SKIP) or path.is_dir():
            continue
        if path.suffix in {".py", ".md"} and not rel.parts[0].startswith("."):
            found.append(path)
    return found


def package_dir(layer: str) -> Path:
    return ROOT / "vitrieve" / layer


@cache
def defined_names(module: Path) -> frozenset[str]:
    """Top-level names of a module, and the attributes its classes define."""
    tree = ast.parse(module.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(names)


def resolves(dotted: str) -> bool:
    parts = dotted.removeprefix("vitrieve.").split(".")
    here = package_dir(parts[0])
    rest = parts[1:]
    while rest:
        name = rest[0]
        if name in FILE_SUFFIXES:
            return True  # "search.py", "ui.log": a file name in prose, not a module
        if (here / name / "__init__.py").exists():
            here, rest = here / name, rest[1:]
            continue
        if (here / f"{name}.py").exists():
            return len(rest) == 1 or rest[1] in defined_names(here / f"{name}.py")
        init = here / "__init__.py"
        return init.exists() and name in defined_names(init)
    return True


def path_exists(text: str, mentioned_in: Path) -> bool:
    candidates = [ROOT / text, ROOT / "vitrieve" / text, ROOT / "tests" / text]
    candidates += [parent / text for parent in mentioned_in.parents if ROOT in parent.parents]
    return any(c.exists() for c in candidates)


def prose(path: Path) -> list[tuple[int, str]]:
    """The lines a reader reads as prose: all of a Markdown page; the comments and strings
    (docstrings included) of a Python file, where `search.stdout` in code is a variable."""
    text = path.read_text()
    if path.suffix == ".md":
        return list(enumerate(text.splitlines(), 1))
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.COMMENT, tokenize.STRING):
            found += [(tok.start[0] + i, line) for i, line in enumerate(tok.string.splitlines())]
    return found


def stale_names() -> list[str]:
    stale = []
    for path in project_files():
        rel = path.relative_to(ROOT)
        if path == Path(__file__).resolve():
            continue  # its own examples of stale names
        for lineno, line in prose(path):
            stale += [
                f"{rel}:{lineno}: {m}"
                for m in DOTTED.findall(line)
                if m not in NOT_MODULES and not resolves(m)
            ]
            stale += [
                f"{rel}:{lineno}: {m}" for m in PATH.findall(line) if not path_exists(m, path)
            ]
    return stale


def test_the_checker_catches_a_stale_name(tmp_path):
    assert not resolves("indexer.index_file")
    assert not resolves("search.dup_pairs")
    assert not resolves("vitrieve.indexer.config")
    assert resolves("indexer.index.store")
    assert resolves("vitrieve.search.query")
    assert resolves("core.config.Settings")
    assert not resolves("core.config.NoSuchThing")
    assert not path_exists("search/dup_actions.py", ROOT / "README.md")
    assert path_exists("ui/cli/table.py", ROOT / "README.md")


def test_every_module_named_in_code_or_docs_exists():
    assert stale_names() == []

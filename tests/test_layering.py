"""The architecture, checked: imports flow one way (tables <- migrations <- core <- indexer <-
search <- worker <- ui <- api, with migrations reading only the tables), every import goes
through the one name `vitrieve`, and no module reaches into another module's private names (ours
or a library's)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vitrieve"
#: What each layer may import from vitrieve; a layer may always import itself.
MAY_IMPORT = {
    "tables": set(),
    "migrations": {"tables"},
    "core": {"tables", "migrations"},
    "indexer": {"tables", "migrations", "core"},
    "search": {"tables", "core", "indexer"},
    "worker": {"tables", "core", "indexer", "search"},
    "ui": {"tables", "core", "indexer", "search", "worker"},
    # the public Python API (docs/PYTHON.md): a facade over the rest, imported by no layer
    "api": {"tables", "core", "indexer", "search", "worker", "ui"},
}
OLD_TOP_LEVEL = {"indexer", "search", "worker", "ui", "migrations", "tables"}


@dataclass(frozen=True)
class Imported:
    module: str  # the importing module, dotted
    line: int
    target: str  # dotted module imported from
    names: tuple[str, ...]  # names taken from it (empty for `import x`)


def sources() -> list[Path]:
    """Every module of every layer. The layers are links (vitrieve/indexer -> ../indexer) that
    rglob does not follow, so each is walked from its resolved folder."""
    return [f for layer in MAY_IMPORT for f in sorted((PACKAGE / layer).resolve().rglob("*.py"))]


def top(path: Path) -> Path:
    for layer in MAY_IMPORT:
        root = (PACKAGE / layer).resolve()
        if root == path or root in path.parents:
            return root
    raise ValueError(path)


def dotted(path: Path) -> str:
    root = top(path)
    rel = path.relative_to(root).with_suffix("").parts
    parts = ("vitrieve", root.name, *rel)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[Imported]:
    tree = ast.parse(path.read_text(), filename=str(path))
    me = dotted(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Imported(me, node.lineno, a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([target] if target else [])])
            found.append(Imported(me, node.lineno, target, tuple(a.name for a in node.names)))
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "vitrieve" and len(parts) > 1 else None


ALL = [(path, imp) for path in sources() for imp in imports(path)]


def test_the_layers_are_all_found():
    layers = {layer_of(dotted(path)) for path, _ in ALL}
    assert layers == set(MAY_IMPORT)
    assert len({path for path, _ in ALL}) > 80


def test_imports_flow_one_way():
    upward = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for _, imp in ALL
        if (mine := layer_of(imp.module))
        and (theirs := layer_of(imp.target))
        and theirs != mine
        and theirs not in MAY_IMPORT[mine]
    ]
    assert upward == []


def test_every_import_of_the_project_goes_through_vitrieve():
    bare = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for _, imp in ALL
        if imp.target.split(".")[0] in OLD_TOP_LEVEL
    ]
    assert bare == []


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_imports_another_modules_private_names():
    reaching = [
        f"{imp.module}:{imp.line} takes {name} from {imp.target}"
        for _, imp in ALL
        for name in imp.names
        if private(name) and imp.target != imp.module and imp.target != "__future__"
    ] + [
        f"{imp.module}:{imp.line} imports private module {imp.target}"
        for _, imp in ALL
        if any(private(part) for part in imp.target.split("."))
        and not imp.target.startswith(imp.module.rpartition(".")[0] + ".")
    ]
    assert reaching == []


def module_aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound to vitrieve modules: `from vitrieve.indexer import decode` -> decode."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vitrieve"):
            for a in node.names:
                candidate = f"{node.module}.{a.name}"
                if module_path(candidate) is not None:
                    aliases[a.asname or a.name] = candidate
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.asname and a.name.startswith("vitrieve"):
                    aliases[a.asname] = a.name
    return aliases


def module_path(dotted_name: str) -> Path | None:
    parts = dotted_name.split(".")[1:]
    base = PACKAGE.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


@pytest.mark.parametrize("path", sorted({p for p, _ in ALL}), ids=lambda p: dotted(p))
def test_no_module_uses_a_private_name_of_a_module_it_imported(path):
    tree = ast.parse(path.read_text())
    aliases = module_aliases(tree)
    uses = [
        f"line {node.lineno}: {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and private(node.attr)
    ]
    assert uses == []


def resolved_targets(imp: Imported) -> set[str]:
    """The vitrieve modules an import loads: `from pkg import sub` names the submodule `sub`
    where one exists, else the module the names come from."""
    if not imp.target.startswith("vitrieve"):
        return set()
    subs = {f"{imp.target}.{n}" for n in imp.names if module_path(f"{imp.target}.{n}")}
    others = [n for n in imp.names if f"{imp.target}.{n}" not in subs]
    if others or not imp.names:
        subs.add(imp.target)
    return {t for t in subs if module_path(t) is not None}


def import_graph() -> dict[str, set[str]]:
    """Every import of every module, at the top or inside a function alike: a function-level
    import still makes the two modules depend on each other, it only hides the cycle."""
    graph: dict[str, set[str]] = {}
    for _, imp in ALL:
        graph.setdefault(imp.module, set()).update(
            t for t in resolved_targets(imp) if t != imp.module
        )
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_hidden_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_not_even_inside_functions():
    assert cycles(import_graph()) == []


#: Sub-layer rules the docs state (docs/ARCHITECTURE.md): third-party imports a folder keeps out.
FORBIDDEN_BELOW = {
    # view-models are plain Python, testable without a Streamlit session
    "vitrieve.ui.views": {"streamlit"},
    # the index is FAISS and files; SQL reaches it through loader callbacks, except the build
    # history that `maintenance` records (docs/INDEXING.md)
    "vitrieve.indexer.index": {"sqlalchemy", "vitrieve.tables"},
    # the UI asks search and the catalog (indexer.catalog) for what it shows; it builds no query
    "vitrieve.ui": {"sqlalchemy"},
}
#: The documented exceptions, each with why.
SQL_ALLOWED = {
    "vitrieve.indexer.index.maintenance": "records the index's build history (INDEXING.md)",
    "vitrieve.ui.cli.errors": "turns the database's exceptions into one-line errors",
}


def test_sub_layers_keep_out_what_the_docs_say():
    breaking = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for _, imp in ALL
        for folder, kept_out in FORBIDDEN_BELOW.items()
        if imp.module.startswith(folder + ".")
        and imp.module not in SQL_ALLOWED
        and any(imp.target == k or imp.target.startswith(k + ".") for k in kept_out)
    ]
    assert breaking == []

"""The public API's names (`vitrieve.__all__`) are a promise: a name may leave only through
`vitrieve.__deprecated__`, which keeps serving it with a DeprecationWarning. PUBLIC is the
committed list; a name added to `__all__` is added here in the same change."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import warnings

import pytest

import vitrieve
from tests.support import REPO

PUBLIC = [
    "DuplicateGroups",
    "ImageTag",
    "IngestReport",
    "Leak",
    "Library",
    "Match",
    "VitrieveError",
    "open",
]


def test_every_public_name_is_served_or_deprecated():
    gone = [n for n in PUBLIC if n not in vitrieve.__all__ and n not in vitrieve.__deprecated__]
    assert gone == [], "a public name left __all__ without an entry in vitrieve.__deprecated__"
    assert sorted(vitrieve.__all__) == sorted(n for n in PUBLIC if n in vitrieve.__all__)


def test_every_name_of_all_resolves():
    for name in vitrieve.__all__:
        assert getattr(vitrieve, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = vitrieve.nothing


def test_a_deprecated_name_still_works_and_warns(monkeypatch):
    monkeypatch.setitem(
        vitrieve.__deprecated__, "open_library", ("vitrieve.api.opening:open_library", "use open")
    )
    with pytest.warns(DeprecationWarning, match="vitrieve.open_library is deprecated: use open"):
        assert vitrieve.open_library is vitrieve.open
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert vitrieve.open is not None  # a current name never warns


def test_import_vitrieve_loads_nothing_but_itself():
    code = (
        "import sys, vitrieve\n"
        "loaded = [m for m in sys.modules if m.startswith(('vitrieve.', 'sqlalchemy', 'torch', "
        "'numpy', 'faiss'))]\n"
        "print(loaded)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_public_api_is_held_to_mypys_strict_rules():
    """mypy (run by scripts/test.sh) applies the strict flags to these modules."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    strict = next(o for o in config["overrides"] if o.get("disallow_untyped_defs"))
    assert {"vitrieve", "vitrieve.api", "vitrieve.api.*"} <= set(strict["module"])
    assert strict["disallow_any_generics"] and strict["warn_return_any"]

"""vitrieve: self-hosted visual search for image collections.

The public Python API is the names in `__all__` (docs/PYTHON.md)::

    import vitrieve

    with vitrieve.open(home="~/.vitrieve") as lib:
        lib.ingest("~/Photos")
        groups = lib.duplicates()

Everything else is private by convention, however it is spelt. The names are loaded on first
use (module `__getattr__`), so `import vitrieve` stays instant and the CLI's commands pay only
for what they run. A name leaves `__all__` only through `__deprecated__` (it keeps working, with
a DeprecationWarning, for a release); tests/test_public_api.py holds the committed list.

One import name for the whole project. The repository keeps the design's top-level folders
(`indexer/ search/ worker/ ui/ migrations/`); `vitrieve/` links to each of them, so the source
tree and an installed wheel import the same names: `vitrieve.indexer`, `vitrieve.search`, ...
Layers, lowest first: `vitrieve.tables` <- migrations <- `vitrieve.core` <- indexer <- search
<- worker <- ui <- `vitrieve.api` (tests/test_layering.py checks it).
"""

from __future__ import annotations

import warnings as _warnings
from importlib import import_module as _import_module
from pathlib import Path as _Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "DuplicateGroups",
    "ImageTag",
    "IngestReport",
    "Leak",
    "Library",
    "Match",
    "VitrieveError",
    "open",
]

#: Where each public name lives ("module:attribute").
_PUBLIC = {
    "DuplicateGroups": "vitrieve.api.groups:DuplicateGroups",
    "ImageTag": "vitrieve.search.tagging.query:ImageTag",
    "IngestReport": "vitrieve.indexer.ingest:IngestSummary",
    "Leak": "vitrieve.search.duplicates.across:Leak",
    "Library": "vitrieve.api.library:Library",
    "Match": "vitrieve.search.query:SearchResult",
    "VitrieveError": "vitrieve.core.errors:VitrieveError",
    "open": "vitrieve.api.opening:open_library",
}

#: Names taken out of `__all__`, each still served for a release with a DeprecationWarning:
#: name -> ("module:attribute" it resolves to, what to use instead).
__deprecated__: dict[str, tuple[str, str]] = {}

if TYPE_CHECKING:
    from vitrieve.api.groups import DuplicateGroups
    from vitrieve.api.library import Library
    from vitrieve.api.opening import open_library as open
    from vitrieve.core.errors import VitrieveError
    from vitrieve.indexer.ingest import IngestSummary as IngestReport
    from vitrieve.search.duplicates.across import Leak
    from vitrieve.search.query import SearchResult as Match
    from vitrieve.search.tagging.query import ImageTag


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return _load(_PUBLIC[name])
    if name in __deprecated__:
        target, instead = __deprecated__[name]
        _warnings.warn(
            f"vitrieve.{name} is deprecated: {instead}", DeprecationWarning, stacklevel=2
        )
        return _load(target)
    raise AttributeError(f"module 'vitrieve' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(_import_module(module), attribute)


#: The design's top-level folders, linked from here in a checkout and real folders in a wheel.
_LINKED_LAYERS = ("indexer", "search", "worker", "ui", "migrations")


def _check_layers() -> None:
    """A checkout made without symbolic links (`git config core.symlinks false`, a zip download
    of the repository) has small text files where the links should be; a wheel built from it
    ships without these subpackages. Either way the first import of a layer would fail with a
    puzzling "not a package": say what happened instead (docs/CONTRIBUTING.md#layout-and-rules)."""
    here = _Path(__file__).parent
    lost = [name for name in _LINKED_LAYERS if not (here / name / "__init__.py").is_file()]
    if lost:
        raise ImportError(
            f"vitrieve at {here} is missing its subpackages {', '.join(lost)}: "
            "the checkout lost its symbolic links (vitrieve/indexer -> ../indexer and so on; "
            "clone with `git -c core.symlinks=true clone`, not a zip download) or the wheel "
            "was built from such a checkout; see docs/CONTRIBUTING.md"
        )


_check_layers()

"""vitrieve: self-hosted visual search for image collections.

One import name for the whole project. The repository keeps the design's top-level folders
(`indexer/ search/ worker/ ui/ migrations/`); `vitrieve/` links to each of them, so the source
tree and an installed wheel import the same names: `vitrieve.indexer`, `vitrieve.search`, ...
Layers, lowest first: `vitrieve.tables` <- migrations <- `vitrieve.core` <- indexer <- search
<- worker <- ui (tests/test_layering.py checks it).
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

#: The design's top-level folders, linked from here in a checkout and real folders in a wheel.
LINKED_LAYERS = ("indexer", "search", "worker", "ui", "migrations")


def _check_layers() -> None:
    """A checkout made without symbolic links (`git config core.symlinks false`, a zip download
    of the repository) has small text files where the links should be; a wheel built from it
    ships without these subpackages. Either way the first import of a layer would fail with a
    puzzling "not a package": say what happened instead (docs/CONTRIBUTING.md#layout-and-rules)."""
    here = _Path(__file__).parent
    lost = [name for name in LINKED_LAYERS if not (here / name / "__init__.py").is_file()]
    if lost:
        raise ImportError(
            f"vitrieve at {here} is missing its subpackages {', '.join(lost)}: "
            "the checkout lost its symbolic links (vitrieve/indexer -> ../indexer and so on; "
            "clone with `git -c core.symlinks=true clone`, not a zip download) or the wheel "
            "was built from such a checkout; see docs/CONTRIBUTING.md"
        )


_check_layers()

"""vitrieve: self-hosted visual search for image collections.

One import name for the whole project. The repository keeps the design's top-level folders
(`indexer/ search/ worker/ ui/ migrations/`); `vitrieve/` links to each of them, so the source
tree and an installed wheel import the same names: `vitrieve.indexer`, `vitrieve.search`, ...
Layers, lowest first: `vitrieve.tables` <- migrations <- `vitrieve.core` <- indexer <- search
<- worker <- ui (tests/test_layering.py checks it).
"""

__version__ = "0.1.0"

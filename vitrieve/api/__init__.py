"""The public Python API's implementation (docs/PYTHON.md); import it as `vitrieve.open`,
`vitrieve.Library` and so on, the names `vitrieve.__all__` lists.

The top layer: it may import every other (tests/test_layering.py), and nothing imports it but
`vitrieve/__init__.py`, lazily, so `import vitrieve` stays instant.
"""

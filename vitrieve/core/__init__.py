"""The foundation every layer stands on: the one Settings object, the project's errors,
password redaction, database engines, named catalog locks and the migration runner.

It lives under `vitrieve/` as a real folder (not one of the design's top-level folders) because
it belongs to no single component: the indexer, search, the worker and the UI all configure,
open the catalog and take locks through it. It may import only `vitrieve.tables` and
`vitrieve.migrations` (tests/test_layering.py)."""

"""Fixtures of the public API's tests: one train/test split of real photos (tests/support/
splits.py) ingested once per session through `vitrieve.open(...).ingest(...)` itself, and that
library opened. The tests only read it; each test that writes works on its own copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import vitrieve
from tests.support import api_settings, cli_env, write_split


@pytest.fixture(scope="session")
def split_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """base/dataset/{train,test} and base/home, ingested (with the summary kept in a file)."""
    base = tmp_path_factory.mktemp("api-split")
    dataset = write_split(base)
    with vitrieve.open(**api_settings(base / "home")) as lib:
        report = lib.ingest(dataset, progress=False)
    (base / "ingested.json").write_text(str(report.embedded))
    return base


@pytest.fixture(scope="session")
def split_lib(split_base: Path) -> Iterator[vitrieve.Library]:
    with vitrieve.open(**api_settings(split_base / "home")) as lib:
        yield lib


@pytest.fixture
def split_env(split_base: Path) -> dict[str, str]:
    return cli_env(split_base / "home")

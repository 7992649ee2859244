"""Fixtures for the Streamlit AppTest suites: a catalog built with the tiny ViT, the app's
environment, and a way to open one page of the app (through the auth gate, as a user would)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support import APP, TIMEOUT, TINY_VIT, noise_image, real_photo
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.ui import auth


@pytest.fixture
def app_env(settings: Settings, monkeypatch) -> Iterator[Settings]:
    """The app reads its settings from VITRIEVE_* like `vitrieve ui` does: point them at the
    test's library home; drop the shared library cache afterwards."""
    import streamlit as st

    for key in ("VITRIEVE_DATABASE_URL", "VITRIEVE_BROKER_URL", "VITRIEVE_DEVICE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("VITRIEVE_HOME", str(settings.home))
    monkeypatch.setenv("VITRIEVE_MODEL", str(TINY_VIT))
    monkeypatch.setenv("VITRIEVE_PRECISION", "fp32")
    monkeypatch.setenv("VITRIEVE_RUNTIME", "torch")
    monkeypatch.setenv("VITRIEVE_AUTO_CALIBRATE", "false")
    monkeypatch.setenv("VITRIEVE_BATCH_SIZE", "4")
    monkeypatch.setenv("VITRIEVE_DECODE_WORKERS", "2")
    # Password tries are counted per client for the whole process; every test starts afresh.
    monkeypatch.setattr(auth, "_THROTTLES", {})
    yield settings
    st.cache_resource.clear()


@pytest.fixture
def library_dir(photos: Path) -> Path:
    """Six real photos, four generated ones and two broken files."""
    for i in range(4):
        noise_image(i).save(photos / f"generated-{i}.jpg", quality=90)
    (photos / "broken").mkdir()
    (photos / "broken" / "zero.jpg").write_bytes(b"")
    (photos / "broken" / "text.png").write_text("not a picture")
    return photos


@pytest.fixture
def catalog(app_env: Settings, library_dir: Path) -> Path:
    """`library_dir` ingested into the app's library; returns the root."""
    with Library(app_env) as lib:
        ingest(lib, [library_dir])
    return library_dir


@pytest.fixture
def open_page() -> Callable[..., AppTest]:
    def _open(page: str | None = None, *, secrets: dict | None = None, user=None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        if secrets:
            at.secrets.update(secrets)
        if user is not None:
            at.user = user
        at.run()
        if page is not None:
            at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return _open


@pytest.fixture
def dup_catalog(app_env, photos):
    """The six photos plus a byte copy of one and a re-encoded copy of another."""
    shutil.copy(photos / "coffee.jpg", photos / "trip" / "coffee-copy.jpg")
    real_photo("chelsea").save(photos / "chelsea-small.jpg", quality=80)
    with Library(app_env) as lib:
        ingest(lib, [photos])
    return photos

"""Fixtures for the Streamlit AppTest suites: a catalog built with the tiny ViT, the app's
environment, and a way to open one page of the app (through the auth gate, as a user would)."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import TINY_VIT, noise_image, real_photo
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.ui import auth

APP = Path(__file__).parents[2] / "ui" / "app.py"
TIMEOUT = 120  # a first upload imports torch and loads the model inside the run


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


def jpeg_bytes(name: str, quality: int = 75) -> bytes:
    """A real photo re-encoded (so its bytes match nothing in the catalog)."""
    buf = io.BytesIO()
    real_photo(name).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def write_copies_of_astronaut(folder: Path) -> None:
    """Ten files of skimage's astronaut (512 x 512) in ``folder``, each a way a copy comes
    about: two byte copies of a PNG, a lossless re-save, three JPEG re-encodes, a downscale, a
    crop and a WebP. One duplicate group of more than six members."""
    folder.mkdir()
    img = real_photo("astronaut")
    img.save(folder / "astronaut.png")
    for i in range(2):
        shutil.copy(folder / "astronaut.png", folder / f"astronaut-copy{i}.png")
    img.save(folder / "astronaut-resaved.png", compress_level=1)
    for q in (95, 85, 75):
        img.save(folder / f"astronaut-q{q}.jpg", quality=q)
    img.resize((400, 400)).save(folder / "astronaut-400.jpg", quality=90)
    img.crop((8, 8, 504, 504)).save(folder / "astronaut-crop.jpg", quality=90)
    img.save(folder / "astronaut.webp", quality=80)


def cli_invoker(env: dict[str, str], monkeypatch) -> Callable[..., Any]:
    """`vitrieve ARGS` in-process with ``env``'s VITRIEVE_* settings (stdout is not a
    terminal); each call asserts exit status 0 and returns typer's Result."""
    from typer.testing import CliRunner

    from vitrieve.ui.cli.main import app

    for key, value in env.items():
        if key.startswith("VITRIEVE_"):
            monkeypatch.setenv(key, value)
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        return result

    return run

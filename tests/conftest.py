"""Fixtures used by more than one test folder: a throwaway library home, the tiny ViT, real
photos, both SQL backends. Plain helpers are in tests/support (`from tests.support import ...`);
fixtures only one folder uses are in that folder's conftest.py.

PostgreSQL tests need VITRIEVE_TEST_POSTGRES_URL and the worker tests VITRIEVE_TEST_REDIS_URL
(scripts/test.sh starts both servers and sets them). Without them those tests are skipped
locally but fail under CI, so CI can never silently skip them.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import TINY_VIT, tiny_settings, write_photos
from vitrieve.core.config import Settings


@pytest.fixture(scope="session")
def tiny_vit() -> Path:
    return TINY_VIT


def _postgres_url() -> str | None:
    url = os.environ.get("VITRIEVE_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("VITRIEVE_TEST_POSTGRES_URL is not set: run the suite via scripts/test.sh")
        pytest.skip("PostgreSQL not available (run via scripts/test.sh)")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(_postgres_url()).set(drivername="postgresql+psycopg")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _redis_server_url() -> str:
    url = os.environ.get("VITRIEVE_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("VITRIEVE_TEST_REDIS_URL is not set: run the suite via scripts/test.sh")
        pytest.skip("Redis not available (run via scripts/test.sh)")
    return url


_redis_db = itertools.count(1)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """An empty Redis database (its own db number, flushed before and after) for one test."""
    import redis

    base = re.sub(r"/\d*$", "", _redis_server_url())
    url = f"{base}/{next(_redis_db) % 16}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        try:
            client.flushdb()
        finally:
            client.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A library home in tmp_path using the tiny ViT in fp32 (exact, deterministic)."""
    return tiny_settings(tmp_path / "home")


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder of real photos (JPEG and PNG) in a small tree."""
    return write_photos(tmp_path / "photos")


@pytest.fixture
def copy_tree():
    def _copy(src: Path, dst: Path) -> Path:
        shutil.copytree(src, dst)
        return dst

    return _copy

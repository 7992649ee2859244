"""Shared fixtures: a throwaway library home, the tiny ViT, real photos, both SQL backends.

PostgreSQL tests need VITRIEVE_TEST_POSTGRES_URL and the worker tests VITRIEVE_TEST_REDIS_URL
(scripts/test.sh starts both servers and sets them). Without them those tests are skipped
locally but fail under CI, so CI can never silently skip them.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vitrieve.core.config import Settings

FIXTURES = Path(__file__).parent / "fixtures"
TINY_VIT = FIXTURES / "tiny-vit"
VITRIEVE_CLI = [sys.executable, "-m", "vitrieve"]
PHOTO_NAMES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "camera")


def real_photo(name: str) -> Image.Image:
    """A real photograph shipped with scikit-image, as an RGB PIL image."""
    import skimage.data

    arr = getattr(skimage.data, name)()
    img = Image.fromarray(arr)
    return img.convert("RGB")


def cli_env(home: Path, model: str = str(TINY_VIT)) -> dict[str, str]:
    """This environment without the developer's own VITRIEVE_* settings, aimed at a test home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITRIEVE_")}
    return env | {
        "VITRIEVE_HOME": str(home),
        "VITRIEVE_MODEL": model,
        "VITRIEVE_PRECISION": "fp32",
        "VITRIEVE_RUNTIME": "torch",
    }


def run_cli(env: dict[str, str], *args: str, code: int | None = 0) -> subprocess.CompletedProcess:
    """`vitrieve ARGS` in a real subprocess, as a user runs it; `code=None` skips the check."""
    proc = subprocess.run(
        [*VITRIEVE_CLI, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[1],
    )
    if code is not None:
        assert proc.returncode == code, proc.stderr
    return proc


def run_cli_json(env: dict[str, str], *args: str):
    return json.loads(run_cli(env, *args, "--json").stdout)


def run_cli_together(
    env: dict[str, str], *commands: list[str]
) -> list[subprocess.CompletedProcess]:
    """Several `vitrieve` commands started at the same moment, as two terminals would; waits
    for all of them (no exit code checked)."""
    procs = [
        subprocess.Popen(
            [*VITRIEVE_CLI, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parents[1],
        )
        for args in commands
    ]
    done = []
    for args, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return done


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
    return Settings(
        home=tmp_path / "home",
        model=str(TINY_VIT),
        precision="fp32",
        runtime="torch",
        batch_size=4,
        decode_workers=2,
    )


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder of real photos (JPEG and PNG) in a small tree."""
    return write_photos(tmp_path / "photos")


def other_vit(out: Path) -> Path:
    """The tiny ViT with its patch weights negated: another model, same layout and preprocessing,
    so vectors of the two must never be mixed."""
    import shutil

    import torch
    from transformers import ViTModel

    model = ViTModel.from_pretrained(TINY_VIT)
    with torch.no_grad():
        model.embeddings.patch_embeddings.projection.weight.mul_(-1)
    model.save_pretrained(out)
    shutil.copy(TINY_VIT / "preprocessor_config.json", out)
    return out


def write_photos(root: Path) -> Path:
    """The `photos` tree under root: half the real photos as JPEG, half as PNG in trip/."""
    (root / "trip").mkdir(parents=True)
    for i, name in enumerate(PHOTO_NAMES):
        img = real_photo(name)
        if i % 2:
            img.save(root / "trip" / f"{name}.png")
        else:
            img.save(root / f"{name}.jpg", quality=92)
    return root


def noise_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A synthetic but distinctive image: smooth colour field plus shapes, seeded."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [
            np.sin(xx / rng.uniform(5, 40) + rng.uniform(0, 6)) * np.cos(yy / rng.uniform(5, 40))
            for _ in range(3)
        ],
        -1,
    )
    arr = np.clip(128 + 100 * base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


@pytest.fixture
def copy_tree():
    def _copy(src: Path, dst: Path) -> Path:
        shutil.copytree(src, dst)
        return dst

    return _copy

"""The duplicate tests' libraries: the real photos plus every kind of copy (ingested once per
session by the `dup_template` fixture of tests/search/conftest.py and cloned per test), a
chain A~B~C~D of chosen vectors, and a camera burst."""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageFilter
from sqlalchemy import select, update

from tests.support.exif import camera_exif, save_camera_jpeg
from tests.support.photos import TINY_VIT, real_photo
from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import VECTOR_DTYPE
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.groups import ImageFacts, image_facts, keeper_rank
from vitrieve.tables.catalog import Embedding, Image

NEAR = 0.99


def dup_settings(home: Path) -> Settings:
    return Settings(
        home=home,
        model=str(TINY_VIT),
        precision="fp32",
        runtime="torch",
        batch_size=4,
        decode_workers=2,
    )


def tiny_settings(home: Path) -> Settings:
    """A library home using the tiny ViT in fp32 (exact, deterministic), without the automatic
    threshold calibration (a test that wants it calibrates itself)."""
    return Settings(
        home=home,
        model=str(TINY_VIT),
        precision="fp32",
        runtime="torch",
        auto_calibrate=False,
        batch_size=4,
        decode_workers=2,
    )


def later(path: Path, seconds: int = 10) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


def add_duplicates(root: Path) -> Path:
    for folder in ("backup", "misc", "archive"):
        (root / folder).mkdir()
    shutil.copy(root / "coffee.jpg", root / "backup" / "coffee.jpg")
    shutil.copy(root / "astronaut.jpg", root / "misc" / "IMG_0001.jpg")
    later(root / "backup" / "coffee.jpg")
    later(root / "misc" / "IMG_0001.jpg")
    with PILImage.open(root / "trip" / "chelsea.png") as im:
        im.save(root / "chelsea-resaved.png", compress_level=1)
        im.save(root / "archive" / "chelsea.tiff")
    with PILImage.open(root / "trip" / "rocket.png") as im:
        im.save(root / "rocket-q70.jpg", quality=70)
    with PILImage.open(root / "trip" / "camera.png") as im:
        im.resize((im.width // 2, im.height // 2)).save(root / "camera-half.png")
    real_photo("coffee").crop((30, 20, 560, 380)).save(root / "coffee-crop.jpg", quality=90)
    return root


def clone_library(template: Path, dest: Path) -> tuple[Path, Settings]:
    """A copy of the ingested template at ``dest`` (same mtimes, root re-pointed).

    The catalog is copied with SQLite's backup API, never as files: a WAL file and its shared
    index copied from under another connection describe a database that is not this one, and
    SQLite then drops what a later process commits (seen: a crash test's committed moves
    vanished)."""
    shutil.copytree(template / "photos", dest / "photos")  # copy2: keeps modification times
    shutil.copytree(template / "home", dest / "home", ignore=shutil.ignore_patterns("catalog.db*"))
    source = sqlite3.connect(template / "home" / "catalog.db")
    copy = sqlite3.connect(dest / "home" / "catalog.db")
    try:
        source.backup(copy)
        copy.execute("UPDATE roots SET path = ?", (str(dest / "photos"),))
        copy.commit()
    finally:
        copy.close()
        source.close()
    return dest / "photos", dup_settings(dest / "home")


# -- a chain A~B~C~D (tests/search/test_dup_centred.py) -----------------------------------


CHAIN_T = 0.90


# neighbours on the chain: neighbours on the chain: cos 0.95; two steps: cos 0.805
STEP = float(np.arccos(0.95))


def unique_images(lib: Library) -> list[ImageFacts]:
    """Images with no exact copy, best keeper first."""
    with lib.sessions() as session:
        facts = image_facts(session, session.scalars(select(Image.id)).all())
    content = [f.image.content_hash for f in facts.values()]
    pixels = [f.image.pixel_hash for f in facts.values()]
    alone = [
        f
        for f in facts.values()
        if content.count(f.image.content_hash) == 1 and pixels.count(f.image.pixel_hash) == 1
    ]
    return sorted(alone, key=keeper_rank)


def set_vectors(lib: Library, chosen: dict[int, np.ndarray], seed: int = 0) -> None:
    """Gives `chosen` images these vectors (first coordinates; the rest 0) and every other
    content a random one (unrelated: cosines well below CHAIN_T); byte copies keep sharing one."""
    rng = np.random.default_rng(seed)
    dim = lib.model_row.dim
    with lib.sessions.begin() as session:
        rows = session.execute(select(Embedding.image_id, Embedding.content_hash)).all()
        by_hash: dict[str, np.ndarray] = {}
        for image_id, content_hash in sorted(rows):
            v = chosen.get(image_id)
            if v is None:
                v = by_hash.setdefault(content_hash, rng.standard_normal(dim))
            v = np.pad(np.asarray(v, np.float64), (0, dim - len(v)))
            v /= np.linalg.norm(v)
            session.execute(
                update(Embedding)
                .where(Embedding.image_id == image_id)
                .values(vector=v.astype(VECTOR_DTYPE).tobytes())
            )


def on_arc(steps: float) -> np.ndarray:
    v = np.zeros(2)
    v[0], v[1] = np.cos(steps * STEP), np.sin(steps * STEP)
    return v


def chain_library(template, tmp_path) -> tuple[Library, list[int]]:
    _, settings = clone_library(template, tmp_path / "lib")
    lib = Library(settings)
    a, b, c, d = (f.image_id for f in unique_images(lib)[:4])  # best keeper first
    set_vectors(lib, {a: on_arc(0), b: on_arc(1), c: on_arc(2), d: on_arc(3)})
    return lib, [a, b, c, d]


# -- a camera burst ------------------------------------------------------------------------


T0 = datetime(2024, 7, 14, 18, 30, 0)


def nudged(img: PILImage.Image, dx: int) -> PILImage.Image:
    """The next frame of a burst: the camera moved a few pixels."""
    w, h = img.size
    return img.crop((dx, 0, w, h - dx)).resize((w, h), PILImage.Resampling.BICUBIC)


def burst(root: Path, base: PILImage.Image, step: timedelta, camera=("Canon", "EOS R6")) -> None:
    """Three frames: the first blurred (camera shake) but saved finest, so the copy rule alone
    would keep it; the second is the sharp one."""
    frames = [
        (base.filter(ImageFilter.GaussianBlur(2.5)), 98),
        (base, 80),
        (nudged(base, 4).filter(ImageFilter.GaussianBlur(1)), 85),
    ]
    for i, (img, quality) in enumerate(frames):
        exif = camera_exif(*camera, T0 + i * step)
        save_camera_jpeg(img, root / f"IMG_{i:04d}.jpg", exif, quality=quality)

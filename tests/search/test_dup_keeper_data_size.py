"""The keeper's size rule weighs image data, not metadata (indexer/image_data.py): a copy
padded with 25 kB of junk EXIF must not win "largest file" over the originals. Real files made
with Pillow, ingested with the tiny ViT, grouped by the real `find_duplicates`."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image as PILImage
from sqlalchemy import select, update

from tests.support import TINY_VIT, real_photo
from vitrieve.core.config import Settings
from vitrieve.indexer.image_data import image_data_size
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.find import find_duplicates
from vitrieve.search.duplicates.quarantine import plan_quarantine
from vitrieve.tables.catalog import Image

NEAR = 0.99
PADDING = 25_000
OLD, NEW = 1_600_000_000, 1_700_000_000  # the originals are older than the copies made later


def junk_exif(size: int = PADDING) -> bytes:
    """A valid EXIF block whose ImageDescription is ``size`` bytes of junk: no camera, no date."""
    exif = PILImage.Exif()
    exif[0x010E] = "junk " * (size // 5)
    return exif.tobytes()


def save(img: PILImage.Image, path: Path, mtime: int, **options) -> Path:
    img.save(path, quality=90, **options)
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("padding") / "photos"
    root.mkdir()
    # 1. An original, its byte copy, and a copy with the same pixels padded with junk EXIF.
    astronaut = real_photo("astronaut")
    save(astronaut, root / "astronaut.jpg", OLD)
    shutil.copy(root / "astronaut.jpg", root / "astronaut-backup.jpg")  # made today
    save(astronaut, root / "astronaut-padded.jpg", NEW, exif=junk_exif())
    # 2. Two encodings at one quality: 4:4:4 keeps more detail than 4:2:0, which is padded.
    coffee = real_photo("coffee")
    save(coffee, root / "coffee-444.jpg", NEW, subsampling=0)
    save(coffee, root / "coffee-420.jpg", OLD, subsampling=2, exif=junk_exif(60_000))
    return root


@pytest.fixture(scope="module")
def ingested_home(shots, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("padding-home") / "home"
    settings = Settings(
        home=home, model=str(TINY_VIT), precision="fp32", runtime="torch", batch_size=4
    )
    with Library(settings) as lib:
        assert ingest(lib, [shots]).embedded == 5
    return home


def group_of(lib: Library, name: str):
    report = find_duplicates(lib, threshold=NEAR)
    return next(g for g in report.groups if any(m.path.endswith(f"/{name}") for m in g.members))


def test_a_copy_padded_with_junk_exif_does_not_beat_the_originals(lib, shots):
    padded, original = shots / "astronaut-padded.jpg", shots / "astronaut.jpg"
    assert padded.stat().st_size > original.stat().st_size + PADDING  # the file is larger
    group = group_of(lib, "astronaut.jpg")
    assert len(group.members) == 3 and group.exact
    assert Path(group.keepers[0].path).name == "astronaut.jpg"
    assert group.keeper_reason == "oldest file (modification time)"  # the image data is equal
    plan = plan_quarantine(lib, [group], shots.parent / "quarantine", exact_only=True)
    moved = {Path(m.src).name for g in plan.groups for m in g.moves}
    assert moved == {"astronaut-backup.jpg", "astronaut-padded.jpg"}


def test_the_larger_image_data_wins_whatever_the_metadata_weighs(lib, shots):
    assert (shots / "coffee-420.jpg").stat().st_size > (shots / "coffee-444.jpg").stat().st_size
    group = group_of(lib, "coffee-444.jpg")
    assert Path(group.keepers[0].path).name == "coffee-444.jpg"
    assert group.keeper_reason.startswith("larger image data (")
    assert group.keeper_reason.endswith(" bytes)")


def test_ingest_stores_the_image_data_size_and_older_rows_get_it_when_grouped(lib, shots):
    with lib.sessions() as session:
        stored = dict(session.execute(select(Image.rel_path, Image.data_size)).all())
    assert (
        stored["astronaut.jpg"] == stored["astronaut-padded.jpg"] == stored["astronaut-backup.jpg"]
    )
    assert stored["astronaut.jpg"] < (shots / "astronaut.jpg").stat().st_size
    with lib.sessions.begin() as session:  # as migration 0008 leaves older rows
        session.execute(update(Image).values(data_size=None))
    group = group_of(lib, "astronaut.jpg")
    assert Path(group.keepers[0].path).name == "astronaut.jpg"
    with lib.sessions() as session:
        refilled = dict(session.execute(select(Image.rel_path, Image.data_size)).all())
    assert refilled["astronaut.jpg"] == stored["astronaut.jpg"]
    assert refilled["astronaut-padded.jpg"] == stored["astronaut-padded.jpg"]


# -- the measure itself --------------------------------------------------------------------------


def encoded(img: PILImage.Image, fmt: str, **options) -> tuple[bytes, dict]:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    with PILImage.open(io.BytesIO(buf.getvalue())) as im:
        return buf.getvalue(), dict(im.info)


@pytest.mark.parametrize(
    ("fmt", "metadata"),
    [
        ("JPEG", {"exif": junk_exif(), "icc_profile": b"\0" * 4000, "quality": 90}),
        ("PNG", {"exif": junk_exif(), "icc_profile": b"\0" * 4000}),
        ("WEBP", {"exif": junk_exif(), "icc_profile": b"\0" * 4000, "quality": 80}),
    ],
)
def test_metadata_never_counts_as_image_data(fmt, metadata):
    img = real_photo("rocket").resize((200, 150))
    options = {k: v for k, v in metadata.items() if k == "quality"}
    plain, plain_info = encoded(img, fmt, **options)
    padded, padded_info = encoded(img, fmt, **metadata)
    assert len(padded) > len(plain) + PADDING
    assert image_data_size(padded, fmt, padded_info) == image_data_size(plain, fmt, plain_info)
    assert 0 < image_data_size(plain, fmt, plain_info) <= len(plain)


def test_bytes_after_a_jpegs_end_are_not_its_image_data():
    plain, info = encoded(real_photo("rocket").resize((200, 150)), "JPEG", quality=90)
    assert image_data_size(plain + b"\0" * PADDING, "JPEG", info) == image_data_size(
        plain, "JPEG", info
    )

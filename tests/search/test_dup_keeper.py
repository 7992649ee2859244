"""Which copy `vitrieve dups` suggests keeping, and why, on real files through the real
pipeline (tiny ViT): larger resolution first, then the file with the camera's EXIF, then the
original encoding over re-encodes, then the larger file, then the oldest. Each group says in
words which rule chose its keeper. Files are made with Pillow, EXIF included."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image as PILImage
from sqlalchemy import select, update

from tests.support import TINY_VIT, camera_exif, real_photo, save_camera_jpeg
from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import ImageSummary
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.indexer.photo_facts import PhotoFacts
from vitrieve.search.duplicates.find import DupReport, find_duplicates
from vitrieve.search.duplicates.groups import DupGroup
from vitrieve.search.duplicates.keeper import ImageFacts, keeper_rank, keeper_reason
from vitrieve.tables.catalog import Image, ImageStatus, Root

NEAR = 0.99  # the tiny ViT puts true near-duplicates above 0.996 (see test_dup_find)
TAKEN = datetime(2024, 5, 1, 10, 0, 0)


def decoded_jpeg(path: Path) -> PILImage.Image:
    with PILImage.open(path) as im:
        return im.convert("RGB")


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("keeper") / "photos"
    # 1. A camera JPEG and a PNG made from it: same pixels, 3x the bytes, no EXIF.
    original = save_camera_jpeg(
        real_photo("astronaut"), root / "IMG_1001.jpg", camera_exif(taken=TAKEN, gps=True)
    )
    (root / "export").mkdir()
    decoded_jpeg(original).save(root / "export" / "IMG_1001.png")
    # 2. A full-size PNG without EXIF and a half-size camera JPEG of it.
    coffee = real_photo("coffee")
    coffee.save(root / "coffee-full.png")
    save_camera_jpeg(coffee.resize((300, 200)), root / "coffee-small.jpg", camera_exif())
    # 3. A q60 JPEG without EXIF, and a PNG saved from it (still shows the JPEG's blocks).
    chelsea = root / "chelsea-q60.jpg"
    real_photo("chelsea").save(chelsea, quality=60)
    decoded_jpeg(chelsea).save(root / "export" / "chelsea.png")
    # 4. A camera JPEG and an editor's re-save of it, EXIF kept, at a higher quality.
    rocket = save_camera_jpeg(real_photo("rocket"), root / "DSC_0042.jpg", camera_exif())
    save_camera_jpeg(
        decoded_jpeg(rocket),
        root / "export" / "DSC_0042-edit.jpg",
        camera_exif(software="Adobe Photoshop Lightroom Classic 13.0"),
        quality=97,
    )
    return root


@pytest.fixture(scope="module")
def ingested_home(shots, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("keeper-home") / "home"
    settings = Settings(
        home=home, model=str(TINY_VIT), precision="fp32", runtime="torch", batch_size=4
    )
    with Library(settings) as lib:
        assert ingest(lib, [shots]).embedded == 8
    return home


def group_of(report: DupReport, name: str) -> DupGroup:
    return next(g for g in report.groups if any(m.path.endswith(name) for m in g.members))


def keeper_name(group: DupGroup) -> str:
    return Path(group.keepers[0].path).name


def test_a_camera_jpeg_is_kept_over_a_larger_png_made_from_it(lib, shots):
    assert (shots / "export" / "IMG_1001.png").stat().st_size > 1.5 * (
        shots / "IMG_1001.jpg"
    ).stat().st_size
    group = group_of(find_duplicates(lib, threshold=NEAR), "IMG_1001.jpg")
    assert [Path(m.path).name for m in group.members] == ["IMG_1001.jpg", "IMG_1001.png"]
    assert group.kind == "copies"
    assert group.keeper_reason.startswith("has the camera's EXIF (Canon EOS R5, taken 2024-05-01")
    jpeg, png = group.members
    assert (jpeg.photo.camera, jpeg.photo.has_gps, png.photo.camera, png.photo.has_gps) == (
        "Canon EOS R5",
        True,
        None,
        False,
    )
    assert png.match == "pixels"
    assert jpeg.photo.sharpness is not None and jpeg.photo.sharpness > 0


def test_ingest_stores_the_facts_in_the_catalog(lib):
    with lib.sessions() as session:
        rows = {
            r.rel_path: r
            for r in session.execute(
                select(
                    Image.rel_path,
                    Image.camera,
                    Image.has_gps,
                    Image.software,
                    Image.jpeg_quality,
                    Image.sharpness,
                    Image.exposure,
                    Image.blockiness,
                )
            )
        }
    jpeg, png = rows["IMG_1001.jpg"], rows["export/IMG_1001.png"]
    assert (jpeg.camera, jpeg.has_gps, jpeg.jpeg_quality, jpeg.blockiness) == (
        "Canon EOS R5",
        True,
        92,
        None,
    )
    assert (png.camera, png.has_gps, png.jpeg_quality) == (None, False, None)
    assert png.blockiness is not None
    assert rows["export/DSC_0042-edit.jpg"].software == "Adobe Photoshop Lightroom Classic 13.0"
    assert all(r.sharpness > 0 and 0 <= r.exposure <= 1 for r in rows.values())


def test_higher_resolution_beats_camera_exif(lib):
    group = group_of(find_duplicates(lib, threshold=NEAR), "coffee-full.png")
    assert keeper_name(group) == "coffee-full.png"
    assert group.keeper_reason == "highest resolution (600x400 vs 300x200)"


def test_a_jpeg_is_kept_over_a_png_that_shows_it_was_made_from_a_jpeg(lib):
    group = group_of(find_duplicates(lib, threshold=NEAR), "chelsea-q60.jpg")
    assert keeper_name(group) == "chelsea-q60.jpg"
    assert group.keeper_reason == (
        "original encoding (the runner-up is a re-encode: a PNG showing a JPEG's 8x8 blocks)"
    )


def test_the_camera_original_is_kept_over_an_editors_re_save(lib):
    group = group_of(find_duplicates(lib, threshold=NEAR), "DSC_0042.jpg")
    assert [Path(m.path).name for m in group.members] == ["DSC_0042.jpg", "DSC_0042-edit.jpg"]
    assert group.members[1].size > group.members[0].size  # the size rule would pick the edit
    assert group.keeper_reason == (
        "original encoding (the runner-up is a re-encode: "
        "saved by Adobe Photoshop Lightroom Classic 13.0)"
    )


def test_images_indexed_before_the_facts_existed_get_them_when_grouped(lib, shots):
    with lib.sessions.begin() as session:  # as migration 0006 leaves older rows
        session.execute(update(Image).values(camera=None, has_gps=None, sharpness=None))
    group = group_of(find_duplicates(lib, threshold=NEAR), "IMG_1001.jpg")
    assert keeper_name(group) == "IMG_1001.jpg"
    assert group.members[0].photo.camera == "Canon EOS R5"
    with lib.sessions() as session:
        stored = dict(session.execute(select(Image.rel_path, Image.camera)).all())
    assert stored["IMG_1001.jpg"] == "Canon EOS R5"
    assert stored["export/IMG_1001.png"] is None  # measured: it has no camera


def test_facts_that_cannot_be_measured_stay_unknown_and_count_as_absent(lib, tmp_path):
    with lib.sessions.begin() as session:  # pre-0006 rows whose folder has been unmounted
        session.execute(update(Image).values(camera=None, software=None, sharpness=None))
        session.execute(update(Root).values(path=str(tmp_path / "unmounted")))
    report = find_duplicates(lib, threshold=NEAR)
    assert keeper_name(group_of(report, "coffee-full.png")) == "coffee-full.png"
    # Without the editor's name in Software, the re-save's finer tables win the next rule.
    rocket = group_of(report, "DSC_0042.jpg")
    assert keeper_name(rocket) == "DSC_0042-edit.jpg"
    assert rocket.keeper_reason == "least lossy encoding (JPEG q97 vs JPEG q92)"
    assert all(
        m.photo.camera is None and m.photo.sharpness is None
        for g in report.groups
        for m in g.members
    )


# -- the rule on facts alone ---------------------------------------------------------------


def facts(image_id=1, w=100, h=100, fmt="JPEG", size=1000, mtime=0, **more) -> ImageFacts:
    captured = more.pop("captured", None)
    image = ImageSummary(
        image_id, "/", str(image_id), size, mtime, w, h, fmt, captured, ImageStatus.EMBEDDED,
        None, None,
    )  # fmt: skip
    return ImageFacts(image, PhotoFacts(**more))


def best(*candidates: ImageFacts) -> int:
    return min(candidates, key=keeper_rank).image_id


def reason(*candidates: ImageFacts) -> str:
    winner = min(candidates, key=keeper_rank)
    return keeper_reason(winner, candidates, chosen=False)


def test_the_rules_apply_in_their_documented_order():
    camera = {"camera": "Canon EOS R5", "captured": TAKEN}
    assert best(facts(1, w=99, size=9, **camera), facts(2, fmt="PNG")) == 2  # resolution
    assert best(facts(1, fmt="PNG", size=9999), facts(2, size=10, **camera)) == 2  # EXIF
    png_from_jpeg = {"blockiness": 1.4}
    assert best(facts(1, fmt="PNG", **png_from_jpeg), facts(2, jpeg_quality=60)) == 2
    assert best(facts(1, software="GIMP 2.10", size=9999), facts(2, size=10)) == 2
    assert best(facts(1, jpeg_quality=70, size=9999), facts(2, jpeg_quality=90, size=10)) == 2
    assert best(facts(1, size=10), facts(2, size=20)) == 2  # then the larger file
    assert (
        best(facts(1, captured=datetime(2020, 1, 1)), facts(2, captured=TAKEN.replace(2001))) == 2
    )
    assert best(facts(1, mtime=9), facts(2, mtime=0)) == 2  # then the oldest file
    assert best(facts(3), facts(2)) == 2


def test_camera_firmware_in_software_is_not_a_re_encode():
    firmware = facts(1, software="Ver.1.0.2", size=9999)
    assert best(firmware, facts(2, size=10)) == 1
    assert reason(firmware, facts(2, size=10)).startswith("largest file (9,999 vs 10 bytes)")


def test_reasons_name_the_rule_and_the_values_that_decided():
    assert reason(facts(1, w=200), facts(2)) == "highest resolution (200x100 vs 100x100)"
    assert reason(facts(1, camera="Pixel 8", captured=TAKEN), facts(2, captured=TAKEN)) == (
        "has the camera's EXIF (Pixel 8, taken 2024-05-01 10:00:00); "
        "the runner-up has taken 2024-05-01 10:00:00"
    )
    assert reason(facts(1, camera="Pixel 8"), facts(2)) == (
        "has the camera's EXIF (Pixel 8); the runner-up has none"
    )
    assert reason(facts(1, jpeg_quality=92), facts(2, jpeg_quality=70)) == (
        "least lossy encoding (JPEG q92 vs JPEG q70)"
    )
    assert reason(facts(1, fmt="PNG"), facts(2, fmt="WEBP")) == "least lossy encoding (PNG vs WEBP)"
    assert reason(facts(1, size=2000), facts(2)) == "largest file (2,000 vs 1,000 bytes)"
    assert (
        reason(facts(1, captured=TAKEN), facts(2))
        == "has the camera's EXIF (taken 2024-05-01 10:00:00); the runner-up has none"
    )
    assert reason(facts(1, mtime=1), facts(2, mtime=5)) == "oldest file (modification time)"
    assert keeper_reason(facts(1), [facts(1), facts(2)], chosen=True) == (
        "you chose it (vitrieve dups keep)"
    )
    assert keeper_reason(facts(1), [facts(1)], chosen=False) == ""


def test_an_unmeasured_grid_never_reads_as_a_re_encode():
    """Blockiness is measured on lossless files decoded at full size only."""
    assert best(facts(1, jpeg_quality=50, blockiness=None), facts(2, fmt="GIF")) == 1
    assert best(facts(1, fmt="PNG", blockiness=None), facts(2, jpeg_quality=99)) == 1


def test_avif_and_jpeg_xl_rank_after_a_cameras_heif_and_jpeg_and_before_webp():
    for modern in ("AVIF", "JXL"):
        assert best(facts(1, fmt=modern, size=9999), facts(2, fmt="HEIF", size=10)) == 2
        assert best(facts(1, fmt=modern, size=9999), facts(2, fmt="JPEG", size=10)) == 2
        assert best(facts(1, fmt="WEBP", size=9999), facts(2, fmt=modern, size=10)) == 2
        assert reason(facts(1, fmt=modern), facts(2, fmt="GIF")) == (
            f"least lossy encoding ({modern} vs GIF)"
        )

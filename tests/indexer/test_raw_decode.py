"""Camera RAW files (indexer/raw_decode.py): real DNGs written by pidng from real photos are
rendered from their embedded preview when it is large enough for the model, else by a half-size
demosaic; the camera, capture time and orientation come from the RAW itself; a RAW LibRaw cannot
read is one failure quoting LibRaw; ingest picks up the configured RAW extensions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from tests.support import dng_bytes, real_photo
from vitrieve.core.config import DEFAULT_RAW_EXTENSIONS, InvalidSettingError, Settings
from vitrieve.indexer.decode import DecodeError, decode_image, exif_captured_at
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.indexer.photo_facts import exif_facts
from vitrieve.indexer.raw_decode import is_camera_raw, raw_exif
from vitrieve.indexer.thumbnails import thumbnail_path
from vitrieve.search.files import check_servable
from vitrieve.tables.catalog import Image as ImageRow

W, H = 1024, 768  # the "sensor": a real photo, landscape
NOT_RAW = "cannot read camera RAW (LibRaw: Unsupported file format or not RAW file)"


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.asarray(real_photo("astronaut").resize((W, H)))


def likeness(rendered: Image.Image, photo: np.ndarray) -> float:
    """Correlation of the grey levels of a rendering and the photo (1.0: the same picture)."""
    a = np.asarray(rendered.convert("L").resize((128, 96)), np.float64).ravel()
    b = np.asarray(Image.fromarray(photo).convert("L").resize((128, 96)), np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])


def test_a_preview_at_least_twice_the_model_input_is_the_picture(photo):
    data = dng_bytes(photo, preview=Image.fromarray(photo))
    decoded = decode_image(data, target_size=224, source="shot.dng")
    assert decoded.format == "RAW"
    assert (decoded.width, decoded.height) == (W, H)
    assert decoded.image.size == (W, H)  # the 1024x768 preview; a half-size demosaic is 512x384
    assert likeness(decoded.image, photo) > 0.95
    assert decoded.exif.jpeg_quality is None  # the preview's JPEG quality is not the RAW's
    assert decoded.exif.data_size == len(data)


def test_without_a_preview_the_sensor_data_is_demosaiced_at_half_size(photo):
    decoded = decode_image(dng_bytes(photo), target_size=224, source="shot.dng")
    assert (decoded.width, decoded.height) == (W, H)
    assert decoded.image.size == (W // 2, H // 2)
    assert decoded.image.mode == "RGB"
    assert likeness(decoded.image, photo) > 0.9  # the astronaut, not noise


def test_a_preview_too_small_for_the_model_is_passed_over(photo):
    small = Image.fromarray(photo).resize((320, 240))  # under 2 x 224 on its short side
    decoded = decode_image(dng_bytes(photo, preview=small), target_size=224, source="shot.dng")
    assert decoded.image.size == (W // 2, H // 2)  # demosaiced, not the 320x240 preview


def test_camera_capture_time_and_orientation_come_from_the_raw(photo):
    data = dng_bytes(
        photo, make="Canon", model="Canon EOS R5", taken="2021:06:01 10:00:00", orientation=6
    )
    decoded = decode_image(data, target_size=224, source="shot.dng")
    assert decoded.exif.camera == "Canon EOS R5"
    assert decoded.captured_at is not None and decoded.captured_at.isoformat() == (
        "2021-06-01T10:00:00"
    )
    assert (decoded.width, decoded.height) == (H, W)  # turned upright: portrait
    assert decoded.image.height > decoded.image.width
    upright = np.rot90(photo, k=-1)  # orientation 6: rotate 90 degrees clockwise
    assert likeness(decoded.image, upright) > 0.9


def test_the_sensor_counts_against_the_pixel_limit_before_decoding(photo):
    with pytest.raises(DecodeError) as err:
        decode_image(dng_bytes(photo), source="shot.dng", max_pixels=W * H - 1)
    assert err.value.reason == (
        "decompression bomb or oversized image: 1024x768 (786,432 pixels) is over the "
        "786,431 pixels limit (VITRIEVE_MAX_IMAGE_PIXELS)"
    )


@pytest.mark.parametrize("ext", DEFAULT_RAW_EXTENSIONS.split(","))
def test_every_raw_extension_goes_to_libraw_and_fails_with_its_reason(ext):
    junk = b"not a photo, only named like one. " * 40
    assert is_camera_raw(junk, f"IMG_0001{ext.upper()}")
    with pytest.raises(DecodeError) as err:
        decode_image(junk, source=f"IMG_0001{ext}")
    assert err.value.reason == NOT_RAW


@pytest.mark.parametrize("keep", [1000, 0.5])
def test_a_truncated_raw_is_one_failure_quoting_libraw(photo, keep):
    data = dng_bytes(photo)
    cut = data[: keep if isinstance(keep, int) else int(len(data) * keep)]
    with pytest.raises(DecodeError) as err:
        decode_image(cut, source="cut.dng")
    assert err.value.reason == (
        "cannot decode camera RAW data (LibRaw: Input/output error: the file ends early "
        "(truncated or damaged))"
    )


def test_a_dng_under_another_name_is_recognised_by_its_dng_version(photo):
    data = dng_bytes(photo)
    assert is_camera_raw(data, "scan.tif")
    assert decode_image(data, source="scan.tif").format == "RAW"
    assert not is_camera_raw(b"II*\x00\x08\x00\x00\x00\x00\x00", "scan.tif")  # a plain TIFF


def test_raw_extensions_setting_is_checked_and_normalised():
    assert Settings(raw_extensions="DNG, .nef").raw_extension_set == {".dng", ".nef"}
    assert Settings(raw_extensions="").raw_extension_set == frozenset()
    with pytest.raises(InvalidSettingError, match=r"'\.jpg' is not a camera RAW extension"):
        Settings(raw_extensions=".dng,.jpg")


def test_ingest_indexes_raws_and_records_one_failure_for_a_broken_one(settings, tmp_path, photo):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    exif = {"make": "NIKON CORPORATION", "model": "NIKON Z 6", "taken": "2022:03:04 05:06:07"}
    (shoot / "preview.dng").write_bytes(dng_bytes(photo, preview=Image.fromarray(photo)))
    (shoot / "sensor.dng").write_bytes(dng_bytes(photo[:, ::-1].copy(), **exif))
    (shoot / "broken.nef").write_bytes(b"\x00" * 4096)
    (shoot / "ignored.x3f").write_bytes(b"\x00" * 4096)  # LibRaw reads it; not configured
    with Library(settings) as lib:
        summary = ingest(lib, [shoot])
        with lib.sessions() as session:
            rows = {r.rel_path: r for r in session.scalars(select(ImageRow))}
    assert summary.embedded == 2
    assert [(Path(f.path).name, f.reason) for f in summary.failures] == [("broken.nef", NOT_RAW)]
    assert set(rows) == {"preview.dng", "sensor.dng", "broken.nef"}
    sensor = rows["sensor.dng"]
    assert (sensor.format, sensor.camera, sensor.width, sensor.height) == (
        "RAW",
        "NIKON Z 6",  # the model already names the make
        W,
        H,
    )
    assert sensor.captured_at is not None and sensor.captured_at.year == 2022
    for name in ("preview.dng", "sensor.dng"):  # the thumbnail is the rendered picture
        thumb = thumbnail_path(settings.thumb_dir, rows[name].content_hash)
        with Image.open(thumb) as im:
            assert max(im.size) == 256


def test_raw_extensions_setting_decides_what_ingest_scans(settings, tmp_path, photo):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    (shoot / "a.dng").write_bytes(dng_bytes(photo))
    (shoot / "b.nef").write_bytes(b"\x00" * 4096)
    with Library(settings.model_copy(update={"raw_extensions": ".nef"})) as lib:
        summary = ingest(lib, [shoot])
    assert summary.new == 1 and summary.skipped == {".dng": 1}
    assert [(Path(f.path).name, f.reason) for f in summary.failures] == [("b.nef", NOT_RAW)]


def test_download_original_serves_the_raw_file(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    (root / "IMG_1.CR3").write_bytes(b"raw bytes")
    assert check_servable(root / "IMG_1.CR3", [root], tmp_path / "home") == root / "IMG_1.CR3"


def test_a_cr3_gives_its_camera_capture_time_and_gps_from_its_cmt_boxes():
    def box(name: bytes, exif: Image.Exif) -> bytes:
        tiff = exif.tobytes()[6:]  # without "Exif\0\0": the TIFF itself, as CR3 stores it
        return (8 + len(tiff)).to_bytes(4, "big") + name + tiff  # size counts the header

    ifd0, taken, gps = Image.Exif(), Image.Exif(), Image.Exif()
    ifd0[0x010F], ifd0[0x0110] = "Canon", "Canon EOS R6"
    taken[0x9003] = "2023:01:02 03:04:05"  # DateTimeOriginal
    gps[1], gps[2] = "N", (48.0, 51.0, 24.0)
    head = b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom"
    data = head + box(b"CMT1", ifd0) + box(b"CMT2", taken) + box(b"CMT4", gps) + b"\0" * 64
    exif = raw_exif(data)
    facts = exif_facts(Image.new("RGB", (8, 8)), exif, data)
    assert (facts.camera, facts.has_gps) == ("Canon EOS R6", True)
    assert exif_captured_at(exif) == datetime(2023, 1, 2, 3, 4, 5)

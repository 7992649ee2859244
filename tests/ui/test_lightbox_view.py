"""ui/views/lightbox.py: where the lightbox is in its grid, and the EXIF facts it lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.support import noise_image
from vitrieve.ui.views.lightbox import LightboxState, browser_can_show, exif_facts


def test_previous_and_next_stop_at_the_ends_of_the_grid():
    state = LightboxState.opened([7, 3, 9], 0, "result")
    assert (state.image_id, state.has_previous, state.has_next) == (7, False, True)
    assert state.moved(-1) == state
    last = state.moved(1).moved(1)
    assert (last.image_id, last.has_next, last.position) == (9, False, 2)
    assert last.moved(1) == last and last.moved(-1).image_id == 3


def test_a_position_outside_the_grid_is_refused():
    with pytest.raises(IndexError, match="position 3 is outside a grid of 3 images"):
        LightboxState.opened([1, 2, 3], 3, "result")


def test_exif_facts_read_camera_exposure_and_gps(tmp_path: Path):
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS 5D"
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = 1 / 500
    sub[0x829D] = 4.0
    sub[0x920A] = 35.0
    sub[0x8827] = 400
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (33.0, 51.0, 54.0)
    gps[3], gps[4] = "E", (151.0, 12.0, 36.0)
    path = tmp_path / "photo.jpg"
    noise_image(1).save(path, exif=exif)
    assert exif_facts(path) == [
        ("Camera make", "Canon"),
        ("Camera", "EOS 5D"),
        ("Exposure", "1/500 s"),
        ("Aperture", "f/4.0"),
        ("ISO", "400"),
        ("Focal length", "35 mm"),
        ("GPS", "-33.86500, 151.21000"),
    ]


def test_a_file_without_exif_or_not_an_image_has_no_facts(tmp_path: Path):
    png = tmp_path / "plain.png"
    noise_image(2).save(png)
    text = tmp_path / "fake.jpg"
    text.write_text("not a picture")
    assert exif_facts(png) == [] and exif_facts(text) == []
    assert exif_facts(tmp_path / "gone.jpg") == []


def test_only_formats_a_browser_draws_are_shown_as_originals():
    assert browser_can_show("JPEG") and browser_can_show("webp")
    assert not browser_can_show("HEIF") and not browser_can_show("TIFF")
    assert not browser_can_show(None)


def test_a_raw_is_rendered_at_display_size_with_the_facts_of_its_own_exif(tmp_path: Path):
    import numpy as np

    from tests.support import dng_bytes, real_photo
    from vitrieve.ui.views.lightbox import RAW_DISPLAY_SIZE, is_raw, raw_view

    photo = np.asarray(real_photo("astronaut").resize((2400, 1800)))
    shot = tmp_path / "IMG_1.DNG"
    exif = {"make": "Canon", "model": "Canon EOS R5", "taken": "2024:05:01 10:00:00"}
    shot.write_bytes(dng_bytes(photo, **exif))  # no preview: LibRaw demosaics the sensor
    view = raw_view(shot, max_file_size=10**9, max_pixels=10**9)
    assert is_raw("RAW") and view.picture is not None and view.why == ""
    assert view.picture.size == (1200, 900)  # LibRaw's half-size demosaic, not the thumbnail
    previewed = tmp_path / "IMG_2.DNG"
    previewed.write_bytes(dng_bytes(photo, preview=Image.fromarray(photo), **exif))
    shown = raw_view(previewed, max_file_size=10**9, max_pixels=10**9).picture
    assert shown is not None and shown.size == (RAW_DISPLAY_SIZE, RAW_DISPLAY_SIZE * 3 // 4)
    assert ("Camera", "Canon EOS R5") in view.facts
    # the pixel limit counts the sensor before any decode; a broken file says LibRaw's reason
    refused = raw_view(shot, max_file_size=10**9, max_pixels=1_000_000)
    assert refused.picture is None and "pixels" in refused.why
    broken = tmp_path / "broken.nef"
    broken.write_bytes(b"\x00" * 4096)
    assert raw_view(broken, max_file_size=10**9, max_pixels=10**9).why.startswith(
        "cannot read camera RAW (LibRaw:"
    )

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

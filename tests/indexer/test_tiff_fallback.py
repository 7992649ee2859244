"""The TIFFs Pillow refuses are read by tifffile (indexer/tiff_fallback.py) before they fail.

Pillow 13 cannot identify planar float RGB (scikit-image's own `multipage_rgb.tif`), float
samples, more than four 16-bit samples, float BigTIFF or tiled float pyramids, and says
"truncated or corrupt TIFF data", which is untrue. Each of those decodes to the picture it
holds; a TIFF neither reader can read fails once, with what each reader said; a page over the
pixel limit is refused from its header.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
import tifffile
from PIL import Image, UnidentifiedImageError

from tests.support import MULTIPAGE_RGB, odd_tiffs, real_photo, tiff_bytes, tiff_declaring
from vitrieve.indexer.decode import DecodeError, decode_image
from vitrieve.indexer.tiff_fallback import to_uint8

PHOTO = np.asarray(real_photo("chelsea"))  # 451 x 300


def pillow_refuses(data: bytes) -> bool:
    try:
        with Image.open(BytesIO(data)) as im:
            im.load()
    except (UnidentifiedImageError, OSError):
        return True
    return False


def test_multipage_rgb_from_scikit_image_decodes_to_its_first_page() -> None:
    data = MULTIPAGE_RGB.read_bytes()
    assert pillow_refuses(data)  # why the fallback exists
    decoded = decode_image(data)
    first = tifffile.imread(MULTIPAGE_RGB, key=0)  # planar: samples first, float64 in 0..1
    expected = np.rint(np.moveaxis(first, 0, -1) * 255).astype(np.uint8)
    assert (decoded.format, decoded.width, decoded.height) == ("TIFF", 10, 10)
    np.testing.assert_array_equal(np.asarray(decoded.image), expected)


@pytest.mark.parametrize("kind", ["planar", "float32", "5-sample", "bigtiff"])
def test_odd_tiffs_decode_to_the_picture_they_hold(kind: str) -> None:
    data = odd_tiffs(PHOTO)[kind]
    assert pillow_refuses(data)
    decoded = decode_image(data)
    assert (decoded.format, decoded.width, decoded.height) == ("TIFF", 451, 300)
    assert decoded.image.mode == "RGB"
    # float 0..1 and 16-bit samples come back to the 8-bit values they were made from
    diff = np.abs(np.asarray(decoded.image, np.int16) - PHOTO.astype(np.int16))
    assert diff.max() <= 1
    assert decoded.scores is not None  # the keeper's sharpness and exposure are measured


def test_a_pyramid_is_read_from_its_smallest_level_still_twice_the_model_input() -> None:
    big = np.asarray(real_photo("astronaut").resize((2048, 2048)))  # levels 2048, 1024, 512
    data = odd_tiffs(big)["pyramid"]
    assert pillow_refuses(data)
    decoded = decode_image(data, target_size=224)
    assert (decoded.width, decoded.height) == (2048, 2048)  # the full image's size
    assert decoded.image.size == (512, 512)  # like a JPEG draft: >= 2 x 224, not 4 MP
    expected = big[::4, ::4].astype(np.int16)
    assert np.abs(np.asarray(decoded.image, np.int16) - expected).max() <= 1
    # a bigger model input needs a bigger level
    assert decode_image(data, target_size=384).image.size == (1024, 1024)


def test_orientation_and_capture_time_come_from_the_tiffs_own_tags() -> None:
    tags = [(274, "H", 1, 6, True), (306, "s", 20, "2021:05:06 07:08:09", True)]
    for bigtiff in (False, True):  # Pillow cannot walk a BigTIFF directory: tifffile's tags
        unit = PHOTO.astype(np.float32) / 255
        data = tiff_bytes(unit, photometric="rgb", bigtiff=bigtiff, extratags=tags)
        decoded = decode_image(data)
        assert (decoded.width, decoded.height) == (300, 451)  # 6: rotated a quarter turn
        assert decoded.image.size == (300, 451)
        assert str(decoded.captured_at) == "2021-05-06 07:08:09"


def test_an_oversized_page_is_refused_from_its_header_before_any_pixel_is_read() -> None:
    data = tiff_declaring(20_000, 20_000)  # holds 40x30 pixels: reading them would fail
    with pytest.raises(DecodeError) as refused:
        decode_image(data)
    assert refused.value.reason == (
        "decompression bomb or oversized image: 20000x20000 (400.0 MP) is over the 300.0 MP "
        "limit (VITRIEVE_MAX_IMAGE_PIXELS)"
    )
    with pytest.raises(DecodeError, match=r"is over the 1,000 pixels limit"):
        decode_image(odd_tiffs(PHOTO)["pyramid"], max_pixels=1_000)


def test_a_tiff_neither_reader_can_read_fails_once_saying_what_each_said() -> None:
    data = odd_tiffs(PHOTO)["float32"]
    cut = data[: len(data) // 2]
    with pytest.raises(DecodeError) as failed:
        decode_image(cut, source="scans/cut.tif")
    reason = failed.value.reason
    assert reason.startswith("Pillow: truncated or corrupt TIFF data ("), reason
    assert "; tifffile: " in reason and "\n" not in reason


def test_tiff_samples_become_8_bit_without_clipping() -> None:
    ramp = np.array([0, 2048, 4095], np.uint16)
    assert to_uint8(ramp, 12).tolist() == [0, 128, 255]  # 12 bits declared: 4095 is white
    assert to_uint8(np.array([0, 65535], np.uint16), 16).tolist() == [0, 255]
    assert to_uint8(np.array([0.0, 0.5, 1.0], np.float32), 32).tolist() == [0, 128, 255]
    hdr = np.array([-1.0, 0.0, 3.0, np.nan], np.float64)  # beyond 0..1 and 0..255: stretched
    assert to_uint8(hdr, 64).tolist() == [0, 64, 255, 64]
    assert to_uint8(np.array([True, False]), 1).tolist() == [255, 0]

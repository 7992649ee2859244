"""Specification tests for indexer.decode.decode_image.

Every input is generated here with Pillow (real photos come from skimage.data), so the tests
need no fixture files and say exactly what each input is.
"""

from __future__ import annotations

import random
import struct
import warnings
import zlib
from datetime import datetime
from io import BytesIO

import numpy as np
import pytest
from PIL import Image, ImageFile
from skimage import data as skdata

from vitrieve.indexer.decode import (
    IMAGE_EXTENSIONS,
    SUPPORTED_FORMATS,
    DecodedImage,
    DecodeError,
    decode_image,
)
from vitrieve.indexer.jpeg_xl import JXL_READABLE

ORIENTATION = 0x0112
EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 0x9003
DATETIME = 0x0132


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = BytesIO()
    im.save(buf, format=fmt, **params)
    return buf.getvalue()


def pixels(im: Image.Image) -> np.ndarray:
    return np.asarray(im, dtype=np.int16)


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size
    return float(np.abs(pixels(a) - pixels(b)).mean())


def reason_of(payload: bytes, **kwargs: object) -> str:
    with pytest.raises(DecodeError) as info:
        decode_image(payload, **kwargs)
    return info.value.reason


@pytest.fixture(scope="module")
def chelsea() -> Image.Image:
    return Image.fromarray(skdata.chelsea())  # 451x300 RGB photo of a cat


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.fromarray(skdata.astronaut())  # 512x512 RGB photo


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params", "max_error"),
    [
        ("PNG", {}, 0.0),
        ("BMP", {}, 0.0),
        ("TIFF", {}, 0.0),
        ("WEBP", {"lossless": True}, 0.0),
        ("JPEG", {"quality": 95}, 3.0),
        ("GIF", {}, 12.0),  # 256-colour palette
        ("HEIF", {"quality": 90}, 4.0),
    ],
)
def test_each_supported_format_decodes_to_rgb_photo(
    chelsea: Image.Image, fmt: str, params: dict[str, object], max_error: float
) -> None:
    decoded = decode_image(encode(chelsea, fmt, **params))
    assert isinstance(decoded, DecodedImage)
    assert decoded.format == fmt
    assert decoded.image.mode == "RGB"
    assert (decoded.width, decoded.height) == (451, 300)
    assert decoded.image.size == (451, 300)
    assert mean_abs_diff(decoded.image, chelsea) <= max_error


def test_heic_roundtrip(astronaut: Image.Image) -> None:
    decoded = decode_image(encode(astronaut, "HEIF", quality=90))
    assert decoded.format == "HEIF"
    assert decoded.image.mode == "RGB"
    assert (decoded.width, decoded.height) == (512, 512)
    assert mean_abs_diff(decoded.image, astronaut) < 4.0


def test_heic_orientation_is_applied_exactly_once() -> None:
    # pillow_heif turns EXIF orientation into a libheif transform and resets the tag to 1;
    # rotating again ourselves would turn the picture sideways a second time.
    stored = Image.new("RGB", (300, 200), "white")
    stored.paste((255, 0, 0), (0, 0, 100, 66))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    decoded = decode_image(encode(stored, "HEIF", exif=exif.tobytes(), quality=95))
    assert (decoded.width, decoded.height) == (200, 300)
    assert decoded.image.size == (200, 300)
    assert_colour(decoded.image.getpixel((190, 10)), (255, 0, 0))
    assert_colour(decoded.image.getpixel((10, 10)), (255, 255, 255))


def test_mpo_from_camera_is_accepted_as_its_first_picture(astronaut: Image.Image) -> None:
    second = Image.new("RGB", (512, 512), (0, 255, 0))
    decoded = decode_image(encode(astronaut, "MPO", save_all=True, append_images=[second]))
    assert decoded.format == "MPO"
    assert mean_abs_diff(decoded.image, astronaut) < 4.0


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_image_uses_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    extra = {"lossless": True} if fmt == "WEBP" else {}
    payload = encode(frames[0], fmt, save_all=True, append_images=frames[1:], **extra)
    assert Image.open(BytesIO(payload)).n_frames == 3  # really animated
    decoded = decode_image(payload)
    assert_colour(decoded.image.getpixel((16, 16)), (255, 0, 0))


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.new("P", (16, 16), i) for i in range(3)]
    for frame in frames:
        frame.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    decoded = decode_image(encode(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    assert decoded.image.getpixel((8, 8)) == (255, 0, 0)


def test_extensions_and_formats_agree_with_pillow() -> None:
    registered = Image.registered_extensions()
    assert {".jpg", ".jpeg", ".png", ".heic", ".tif", ".webp", ".gif", ".bmp"} <= IMAGE_EXTENSIONS
    for ext in IMAGE_EXTENSIONS:
        assert ext == ext.lower() and ext.startswith(".")
        # '.jxl' is Pillow's only with the optional extra; without it each one is a failure
        # that names the extra (tests/indexer/test_formats.py).
        assert registered.get(ext) in SUPPORTED_FORMATS or (ext, JXL_READABLE) == (".jxl", False)
    assert {".avif", ".jxl"} <= IMAGE_EXTENSIONS
    assert {
        *("JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", "AVIF", "JXL")
    } == SUPPORTED_FORMATS


# --- orientation ---------------------------------------------------------------------------

# Stored image is 300x200 with a red top-left and a green top-right patch. For each EXIF
# orientation: the display corners where those patches must land.
ORIENTATION_CASES = {
    1: ("TL", "TR"),
    2: ("TR", "TL"),  # mirrored horizontally
    3: ("BR", "BL"),  # rotated 180
    4: ("BL", "BR"),  # mirrored vertically
    5: ("TL", "BL"),  # transposed (mirror on the main diagonal)
    6: ("TR", "BR"),  # needs 90 degrees clockwise
    7: ("BR", "TR"),  # transversed (mirror on the anti-diagonal)
    8: ("BL", "TL"),  # needs 90 degrees counter-clockwise
}


def marked_photo(width: int = 300, height: int = 200) -> Image.Image:
    im = Image.new("RGB", (width, height), "white")
    im.paste((255, 0, 0), (0, 0, width // 3, height // 3))
    im.paste((0, 255, 0), (width - width // 3, 0, width, height // 3))
    return im


def corner_colour(im: Image.Image, corner: str) -> tuple[int, ...]:
    w, h = im.size
    x = w // 10 if corner[1] == "L" else w - 1 - w // 10
    y = h // 10 if corner[0] == "T" else h - 1 - h // 10
    return im.getpixel((x, y))


def assert_colour(actual: object, expected: tuple[int, int, int], tolerance: int = 12) -> None:
    assert isinstance(actual, tuple)
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), actual


def jpeg_with_exif(im: Image.Image, exif: Image.Exif) -> bytes:
    return encode(im, "JPEG", quality=95, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", sorted(ORIENTATION_CASES))
def test_every_exif_orientation_is_displayed_upright(orientation: int) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    decoded = decode_image(jpeg_with_exif(marked_photo(), exif))
    expected_size = (200, 300) if orientation >= 5 else (300, 200)
    assert decoded.image.size == expected_size
    assert (decoded.width, decoded.height) == expected_size
    red_at, green_at = ORIENTATION_CASES[orientation]
    assert_colour(corner_colour(decoded.image, red_at), (255, 0, 0))
    assert_colour(corner_colour(decoded.image, green_at), (0, 255, 0))


def test_exif_orientation_6_rotates_and_reports_rotated_size() -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    decoded = decode_image(jpeg_with_exif(marked_photo(300, 200), exif))
    assert (decoded.width, decoded.height) == (200, 300)
    assert_colour(decoded.image.getpixel((190, 10)), (255, 0, 0))  # top-left went top-right
    assert_colour(decoded.image.getpixel((10, 10)), (255, 255, 255))


@pytest.mark.parametrize("bogus", [0, 9, 255])
def test_out_of_range_orientation_is_treated_as_upright(bogus: int) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = bogus
    decoded = decode_image(jpeg_with_exif(marked_photo(), exif))
    assert (decoded.width, decoded.height) == (300, 200)
    assert_colour(corner_colour(decoded.image, "TL"), (255, 0, 0))


# --- JPEG draft ----------------------------------------------------------------------------


def test_jpeg_draft_used_for_large_photo_but_size_reported_full(chelsea: Image.Image) -> None:
    big = chelsea.resize((2000, 1600), Image.Resampling.BICUBIC)
    payload = encode(big, "JPEG", quality=92)
    decoded = decode_image(payload, target_size=224)
    # libjpeg scales by 1/2, 1/4 or 1/8; 1/4 would be 500x400, below 2x224 on the short side.
    assert decoded.image.size == (1000, 800)
    assert (decoded.width, decoded.height) == (2000, 1600)
    # ...and the reduced decode is nearly as good as a full one once brought to model size.
    full = Image.open(BytesIO(payload)).convert("RGB")
    size = (224, 224)
    assert mean_abs_diff(decoded.image.resize(size), full.resize(size)) < 2.0


def test_jpeg_draft_with_small_target_stays_at_least_twice_the_target() -> None:
    payload = encode(Image.new("RGB", (2000, 1600), (40, 90, 160)), "JPEG")
    decoded = decode_image(payload, target_size=100)
    assert decoded.image.size == (250, 200)  # 1/8 scale is still >= 200 on each side
    assert (decoded.width, decoded.height) == (2000, 1600)


def test_jpeg_draft_and_orientation_report_full_upright_size() -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    decoded = decode_image(jpeg_with_exif(marked_photo(2000, 1600), exif), target_size=224)
    assert (decoded.width, decoded.height) == (1600, 2000)
    assert decoded.image.size == (800, 1000)
    assert_colour(corner_colour(decoded.image, "TR"), (255, 0, 0))


def test_jpeg_below_four_times_target_is_decoded_at_full_size() -> None:
    payload = encode(Image.new("RGB", (1200, 895), "gray"), "JPEG")  # 895 < 4*224
    assert decode_image(payload, target_size=224).image.size == (1200, 895)


def test_large_png_is_never_reduced() -> None:
    payload = encode(Image.new("RGB", (2000, 1600), "gray"), "PNG")
    assert decode_image(payload, target_size=224).image.size == (2000, 1600)


# --- pixel modes ---------------------------------------------------------------------------


def test_cmyk_jpeg_decodes_to_rgb_close_to_original(astronaut: Image.Image) -> None:
    payload = encode(astronaut.convert("CMYK"), "JPEG", quality=95)
    assert Image.open(BytesIO(payload)).mode == "CMYK"
    decoded = decode_image(payload)
    assert decoded.image.mode == "RGB"
    assert mean_abs_diff(decoded.image, astronaut) < 4.0  # an inverted decode would be ~128


def test_transparent_png_is_composited_on_white() -> None:
    im = Image.new("RGBA", (30, 10), (255, 0, 0, 0))  # fully transparent *red*
    im.paste((0, 0, 255, 255), (10, 0, 20, 10))  # opaque blue
    im.paste((0, 0, 0, 128), (20, 0, 30, 10))  # half-transparent black
    decoded = decode_image(encode(im, "PNG"))
    assert decoded.image.mode == "RGB"
    assert decoded.image.getpixel((5, 5)) == (255, 255, 255)
    assert decoded.image.getpixel((15, 5)) == (0, 0, 255)
    assert_colour(decoded.image.getpixel((25, 5)), (127, 127, 127), tolerance=1)


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparency_is_composited_on_white(fmt: str) -> None:
    im = Image.new("P", (8, 8), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.putpixel((1, 1), 1)
    decoded = decode_image(encode(im, fmt, transparency=0))
    assert decoded.image.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.image.getpixel((1, 1)) == (0, 0, 255)


def test_gray_alpha_png_is_composited_on_white() -> None:
    im = Image.new("LA", (4, 4), (0, 0))
    im.putpixel((1, 1), (60, 255))
    decoded = decode_image(encode(im, "PNG"))
    assert decoded.image.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.image.getpixel((1, 1)) == (60, 60, 60)


def test_rgb_png_colour_key_transparency_is_composited_on_white() -> None:
    im = Image.new("RGB", (4, 4), (10, 20, 30))
    im.putpixel((1, 1), (200, 100, 50))
    decoded = decode_image(encode(im, "PNG", transparency=(10, 20, 30)))
    assert decoded.image.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.image.getpixel((1, 1)) == (200, 100, 50)


def test_webp_transparency_is_composited_on_white() -> None:
    im = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    im.putpixel((1, 1), (0, 128, 0, 255))
    decoded = decode_image(encode(im, "WEBP", lossless=True))
    assert decoded.image.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.image.getpixel((1, 1)) == (0, 128, 0)


def gradient16() -> np.ndarray:
    return np.arange(65536, dtype=np.uint32).reshape(256, 256).astype(np.uint16)


def expected_8bit(values16: np.ndarray) -> np.ndarray:
    return np.rint(values16.astype(np.float64) / 257).astype(np.uint8)


def test_i16_png_keeps_full_dynamic_range() -> None:
    source = gradient16()
    payload = encode(Image.fromarray(source), "PNG")
    decoded = np.asarray(decode_image(payload).image)
    assert decoded.shape == (256, 256, 3)
    assert np.array_equal(decoded[..., 0], expected_8bit(source))  # 65535 -> 255, 257 -> 1
    assert len(np.unique(decoded)) == 256  # clipping at 255 would leave almost only white
    assert np.array_equal(decoded[..., 0], decoded[..., 2])


def test_big_endian_16bit_tiff_keeps_full_dynamic_range() -> None:
    source = gradient16()
    im = Image.frombytes("I;16B", (256, 256), source.astype(">u2").tobytes())
    payload = encode(im, "TIFF")
    assert Image.open(BytesIO(payload)).mode == "I;16B"
    decoded = np.asarray(decode_image(payload).image)
    assert np.array_equal(decoded[..., 1], expected_8bit(source))


def test_float_tiff_in_unit_range_is_scaled_to_8bit() -> None:
    values = np.linspace(0.0, 1.0, 256, dtype=np.float32).reshape(16, 16)
    decoded = np.asarray(decode_image(encode(Image.fromarray(values), "TIFF")).image)
    assert decoded[0, 0, 0] == 0
    assert decoded[15, 15, 0] == 255
    assert decoded[8, 0, 0] == round(128 / 255 * 255)


def test_32bit_int_tiff_beyond_16bit_range_is_stretched_min_to_max() -> None:
    values = np.linspace(-1000, 100_000, 256).astype(np.int32).reshape(16, 16)
    decoded = np.asarray(decode_image(encode(Image.fromarray(values), "TIFF")).image)
    assert decoded[0, 0, 0] == 0
    assert decoded[15, 15, 0] == 255
    assert 100 < decoded[8, 0, 0] < 155  # the middle stays in the middle


def test_32bit_int_tiff_within_8bit_range_is_kept_as_is() -> None:
    values = np.array([[0, 17, 200, 255]], dtype=np.int32)
    decoded = np.asarray(decode_image(encode(Image.fromarray(values), "TIFF")).image)
    assert decoded[0, :, 0].tolist() == [0, 17, 200, 255]


def test_32bit_int_tiff_within_16bit_range_is_read_like_16bit() -> None:
    values = np.array([[0, 257, 32896, 65535]], dtype=np.int32)
    decoded = np.asarray(decode_image(encode(Image.fromarray(values), "TIFF")).image)
    assert decoded[0, :, 0].tolist() == [0, 1, 128, 255]


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("L", "PNG"), ("1", "BMP"), ("CMYK", "TIFF"), ("YCbCr", "TIFF"), ("P", "PNG")],
)
def test_other_modes_become_rgb_with_the_right_colour(mode: str, fmt: str) -> None:
    colour = (0, 0, 0) if mode == "1" else (200, 30, 40)
    source = Image.new("RGB", (8, 8), colour)
    if mode == "L":
        colour = (source.convert("L").getpixel((0, 0)),) * 3
    converted = source.quantize() if mode == "P" else source.convert(mode)
    payload = encode(converted, fmt)
    if Image.open(BytesIO(payload)).mode != mode:  # Pillow < 13 writes YCbCr TIFFs as RGB
        pytest.skip(f"this Pillow cannot write a {mode} {fmt} to decode")
    decoded = decode_image(payload)
    assert decoded.image.mode == "RGB"
    assert_colour(decoded.image.getpixel((4, 4)), colour, tolerance=4)


def test_lab_tiff_becomes_rgb_with_the_right_colour() -> None:
    from PIL import ImageCms

    to_lab = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"
    )
    lab = ImageCms.applyTransform(Image.new("RGB", (8, 8), (200, 30, 40)), to_lab)
    assert lab is not None
    payload = encode(lab, "TIFF")
    assert Image.open(BytesIO(payload)).mode == "LAB"
    assert_colour(decode_image(payload).image.getpixel((4, 4)), (200, 30, 40), tolerance=6)


# --- capture time --------------------------------------------------------------------------


def exif_with(original: str | None = None, plain: str | None = None) -> Image.Exif:
    exif = Image.Exif()
    if plain is not None:
        exif[DATETIME] = plain
    if original is not None:
        exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = original
    return exif


def test_exif_capture_time_read() -> None:
    exif = exif_with(original="2021:07:04 15:30:12", plain="2023:01:02 03:04:05")
    decoded = decode_image(jpeg_with_exif(marked_photo(), exif))
    assert decoded.captured_at == datetime(2021, 7, 4, 15, 30, 12)
    assert decoded.captured_at.tzinfo is None


def test_capture_time_falls_back_to_datetime_tag() -> None:
    decoded = decode_image(jpeg_with_exif(marked_photo(), exif_with(plain="2019:12:31 23:59:58")))
    assert decoded.captured_at == datetime(2019, 12, 31, 23, 59, 58)


def test_unparsable_original_falls_back_to_datetime_tag() -> None:
    exif = exif_with(original="not a date at all", plain="2019:12:31 23:59:58")
    assert decode_image(jpeg_with_exif(marked_photo(), exif)).captured_at == datetime(
        2019, 12, 31, 23, 59, 58
    )


@pytest.mark.parametrize(
    "garbage", ["0000:00:00 00:00:00", "    :  :     :  :  ", "2021:13:45 99:99:99", "", "\x00"]
)
def test_garbage_capture_time_is_none_not_an_error(garbage: str) -> None:
    exif = exif_with(original=garbage, plain=garbage)
    decoded = decode_image(jpeg_with_exif(marked_photo(), exif))
    assert decoded.captured_at is None
    assert decoded.image.size == (300, 200)


def test_capture_time_is_none_without_exif(chelsea: Image.Image) -> None:
    assert decode_image(encode(chelsea, "JPEG")).captured_at is None


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_capture_time_read_from_non_jpeg_exif(chelsea: Image.Image, fmt: str) -> None:
    payload = encode(chelsea, fmt, exif=exif_with(original="2020:02:29 12:00:00").tobytes())
    assert decode_image(payload).captured_at == datetime(2020, 2, 29, 12, 0, 0)


def test_decoded_images_carry_the_keeper_facts(chelsea: Image.Image) -> None:
    """What duplicate keepers weigh comes with every decode (tests/indexer/test_photo_facts.py
    specifies each fact)."""
    exif = exif_with(original="2020:02:29 12:00:00")
    exif[0x0110] = "EOS R5"
    decoded = decode_image(jpeg_with_exif(chelsea, exif))
    assert (decoded.exif.camera, decoded.exif.jpeg_quality) == ("EOS R5", 95)
    assert decoded.scores is not None and decoded.scores.sharpness > 0
    assert decoded.scores.blockiness is None  # measured on lossless files only


# --- failures ------------------------------------------------------------------------------


def test_zero_bytes_reason() -> None:
    assert reason_of(b"") == "empty file (0 bytes)"


def test_text_file_reason() -> None:
    assert reason_of(b"Shopping list:\n- milk\n- eggs\n") == "not an image (unrecognised format)"


def test_truncated_jpeg_reason(astronaut: Image.Image) -> None:
    payload = encode(astronaut, "JPEG")
    reason = reason_of(payload[: len(payload) // 2])
    assert reason.startswith("truncated or corrupt image data: ")
    assert "truncated" in reason.removeprefix("truncated or corrupt image data: ")


@pytest.mark.parametrize("keep", [3, 300])
def test_jpeg_cut_inside_its_header_says_truncated_jpeg(astronaut: Image.Image, keep: int) -> None:
    reason = reason_of(encode(astronaut, "JPEG")[:keep])
    assert reason.startswith("truncated or corrupt JPEG ")


@pytest.mark.parametrize("fmt", ["PNG", "HEIF"])
def test_truncated_png_and_heic_are_reported_as_truncated(chelsea: Image.Image, fmt: str) -> None:
    payload = encode(chelsea, fmt)
    for keep in (16, len(payload) // 2):
        assert reason_of(payload[:keep]).startswith("truncated or corrupt ")


def test_truncated_images_are_not_globally_allowed(astronaut: Image.Image) -> None:
    payload = encode(astronaut, "JPEG")
    reason_of(payload[: len(payload) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def png_header_only(width: int, height: int) -> bytes:
    """A 57-byte PNG declaring a huge image: what a decompression bomb looks like up front."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)


def test_decompression_bomb_rejected() -> None:
    # 900 MP is over twice the limit: Pillow's own check refuses it inside Image.open.
    reason = reason_of(png_header_only(30_000, 30_000))
    assert reason == (
        "decompression bomb or oversized image: 900.0 MP is over the 300.0 MP limit "
        "(VITRIEVE_MAX_IMAGE_PIXELS)"
    )


def test_pixel_limit_between_one_and_two_times_is_also_rejected() -> None:
    # Pillow only *warns* between 1x and 2x its limit; vitrieve's own check refuses those too.
    reason = reason_of(encode(Image.new("L", (40, 40)), "PNG"), max_pixels=1000)
    assert reason == (
        "decompression bomb or oversized image: 40x40 (1,600 pixels) is over the 1,000 pixels "
        "limit (VITRIEVE_MAX_IMAGE_PIXELS)"
    )
    assert decode_image(encode(Image.new("L", (30, 30)), "PNG"), max_pixels=1000).width == 30


def test_decoding_does_not_change_global_warning_filters() -> None:
    decode_image(encode(Image.new("L", (8, 8)), "PNG"))  # may add Pillow's "always" filter once
    before = list(warnings.filters)
    reason_of(png_header_only(30_000, 30_000))
    decode_image(encode(Image.new("L", (8, 8)), "PNG"))
    assert warnings.filters == before


@pytest.mark.parametrize("fmt", ["ICO", "PPM", "TGA", "PCX", "QOI"])
def test_unsupported_format_reason(fmt: str) -> None:
    payload = encode(Image.new("RGB", (16, 16), "red"), fmt)
    assert reason_of(payload) == f"unsupported format: {fmt}"


def test_error_keeps_reason_short_and_names_the_source() -> None:
    with pytest.raises(DecodeError) as info:
        decode_image(b"", source="holiday/IMG_0001.jpg")
    assert info.value.reason == "empty file (0 bytes)"
    assert str(info.value) == "holiday/IMG_0001.jpg: empty file (0 bytes)"


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's notes about the damaged TIFF tags
def test_corrupted_files_only_ever_raise_decode_error(chelsea: Image.Image) -> None:
    rng = random.Random(1234)
    small = chelsea.resize((64, 48))
    originals = [
        encode(small, fmt) for fmt in ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "HEIF")
    ]
    failures = 0
    for original in originals:
        for _ in range(25):
            damaged = bytearray(original[: rng.randrange(1, len(original) + 1)])
            for _ in range(rng.randrange(0, 8)):
                if damaged:
                    damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            try:
                result = decode_image(bytes(damaged))
            except DecodeError as exc:
                failures += 1
                assert exc.reason and "\n" not in exc.reason
            else:
                assert result.image.mode == "RGB"
    assert failures > 0  # the damage really produced bad files

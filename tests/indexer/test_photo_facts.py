"""What the decoder records for choosing duplicate keepers (indexer.photo_facts): the camera,
GPS, Software and JPEG quality from the header; sharpness, exposure and a JPEG's block grid
from the pixels. Inputs are generated here with Pillow from real photos (skimage.data)."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image, ImageFilter
from skimage import data as skdata

from tests.support import camera_exif
from vitrieve.indexer.decode import decode_image
from vitrieve.indexer.photo_facts import exif_facts, shot_scores

GRID = 1.15  # search.duplicates.keeper.REENCODE_BLOCKINESS


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = BytesIO()
    im.save(buf, format=fmt, **params)
    return buf.getvalue()


@pytest.fixture(scope="module")
def chelsea() -> Image.Image:
    return Image.fromarray(skdata.chelsea())  # 451x300


def test_camera_gps_and_software_are_read_from_exif(chelsea: Image.Image) -> None:
    exif = camera_exif("FUJIFILM", "X-T4", gps=True, software="Digital Camera X-T4 Ver1.00")
    facts = decode_image(encode(chelsea, "JPEG", exif=exif.tobytes())).exif
    assert facts.camera == "FUJIFILM X-T4"
    assert facts.has_gps
    assert facts.software == "Digital Camera X-T4 Ver1.00"


@pytest.mark.parametrize(
    ("make", "model", "camera"),
    [
        ("Canon", "Canon EOS R5", "Canon EOS R5"),
        ("NIKON CORPORATION", "NIKON D850", "NIKON D850"),
        ("Apple", None, "Apple"),
        (None, "iPhone 15", "iPhone 15"),
        ("  SONY\x00", "ILCE-7M4  ", "SONY ILCE-7M4"),
    ],
)
def test_the_camera_is_make_and_model_without_repeating_the_make(
    chelsea: Image.Image, make, model, camera
) -> None:
    exif = camera_exif(make, model)
    facts = decode_image(encode(chelsea, "JPEG", exif=exif.tobytes())).exif
    assert facts.camera == camera
    assert not facts.has_gps


def test_no_exif_means_no_camera_no_gps_no_software(chelsea: Image.Image) -> None:
    facts = decode_image(encode(chelsea, "PNG")).exif
    assert (facts.camera, facts.has_gps, facts.software, facts.jpeg_quality) == (
        None,
        False,
        None,
        None,
    )


def test_exif_of_a_png_is_read_too(chelsea: Image.Image) -> None:
    payload = encode(chelsea, "PNG", exif=camera_exif(gps=True).tobytes())
    facts = decode_image(payload).exif
    assert (facts.camera, facts.has_gps) == ("Canon EOS R5", True)


@pytest.mark.parametrize("quality", [30, 60, 75, 90, 95])
def test_jpeg_quality_is_estimated_from_the_quantisation_tables(chelsea, quality) -> None:
    assert decode_image(encode(chelsea, "JPEG", quality=quality)).exif.jpeg_quality == quality


def test_a_blurred_shot_is_less_sharp_than_the_sharp_one(chelsea: Image.Image) -> None:
    sharp = decode_image(encode(chelsea, "JPEG", quality=92)).scores
    blurred = decode_image(
        encode(chelsea.filter(ImageFilter.GaussianBlur(2)), "JPEG", quality=92)
    ).scores
    assert sharp is not None and blurred is not None
    assert blurred.sharpness < sharp.sharpness / 4


def test_clipped_highlights_lower_the_exposure_score(chelsea: Image.Image) -> None:
    normal = decode_image(encode(chelsea, "PNG")).scores
    burnt = decode_image(encode(chelsea.point(lambda v: min(255, int(v * 1.5))), "PNG")).scores
    black = decode_image(encode(Image.new("RGB", (300, 200)), "PNG")).scores
    assert normal and burnt and black
    assert 0.0 <= black.exposure < burnt.exposure < normal.exposure <= 1.0
    assert black.exposure == 0.0


def test_scores_are_measured_at_512_px_so_file_size_does_not_dominate(chelsea) -> None:
    """Two renderings of one scene at 2x and 6x the pixels score alike; a blurred one does not."""
    at = {f: chelsea.resize((chelsea.width * f, chelsea.height * f)) for f in (2, 6)}
    two, six = (shot_scores(im, full_size=True, lossless=True) for im in at.values())
    blurred = shot_scores(at[6].filter(ImageFilter.GaussianBlur(12)), full_size=True, lossless=True)
    assert six.sharpness == pytest.approx(two.sharpness, rel=0.25)
    assert six.exposure == pytest.approx(two.exposure, abs=0.02)
    assert blurred.sharpness < two.sharpness / 3


def test_a_png_made_from_a_jpeg_shows_the_jpegs_block_grid(chelsea: Image.Image) -> None:
    once_jpeg = Image.open(BytesIO(encode(chelsea, "JPEG", quality=60))).convert("RGB")
    born_png = decode_image(encode(chelsea, "PNG")).scores
    from_jpeg = decode_image(encode(once_jpeg, "PNG")).scores
    assert born_png and from_jpeg
    assert born_png.blockiness is not None and born_png.blockiness < GRID
    assert from_jpeg.blockiness is not None and from_jpeg.blockiness >= GRID


def test_the_block_grid_is_not_measured_on_jpegs_or_reduced_decodes(chelsea) -> None:
    assert decode_image(encode(chelsea, "JPEG")).scores.blockiness is None  # type: ignore[union-attr]
    big = chelsea.resize((2000, 1330))
    reduced = decode_image(encode(big, "JPEG"), target_size=224)
    assert reduced.image.size != (2000, 1330)
    assert reduced.scores is not None and reduced.scores.blockiness is None


class UnreadableExif(Image.Exif):
    """EXIF whose sub-IFDs point nowhere, as in a file truncated inside its metadata."""

    def get_ifd(self, tag: int):
        raise OSError(f"IFD {tag:#x} points past the end of the file")


def test_broken_metadata_costs_the_fact_not_the_image(chelsea: Image.Image) -> None:
    exif = UnreadableExif()
    exif[0x010F] = "Canon"
    facts = exif_facts(chelsea, exif)
    assert (facts.camera, facts.has_gps) == ("Canon", False)

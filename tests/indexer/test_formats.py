"""AVIF (Pillow's own reader) and JPEG XL (the optional extra vitrieve[jxl]) are indexed.

AVIF: 8-bit, 10-bit (written by libavif through imagecodecs; Pillow's encoder writes 8 bits
only) and alpha, composited on white like any transparent picture. JPEG XL: files written by
pillow-jxl-plugin decode when the extra is installed; without it each one is a failure naming
the extra, and a JPEG XL header over the pixel limit is refused before the plugin decodes.
A folder of these formats and the odd TIFFs ingests to the end: each is searchable by a copy
of itself and has its thumbnail; the broken ones are one failure each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from tests.support import (
    MULTIPAGE_RGB,
    REPO,
    avif_10bit,
    encoded,
    odd_tiffs,
    real_photo,
)
from vitrieve.indexer.decode import IMAGE_EXTENSIONS, DecodeError, decode_image
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.jpeg_xl import JXL_READABLE, NO_JXL_REASON
from vitrieve.indexer.library import Library
from vitrieve.indexer.thumbnails import thumbnail_ok, thumbnail_path
from vitrieve.search.query import query_from_file, search
from vitrieve.tables.catalog import Image as ImageRow
from vitrieve.tables.catalog import ImageStatus

PHOTO = real_photo("coffee")  # 600 x 400
needs_jxl = pytest.mark.skipif(not JXL_READABLE, reason="the jxl extra is not installed")


def close_to(image: Image.Image, expected: np.ndarray, tolerance: float) -> bool:
    diff = np.abs(np.asarray(image, np.float32) - expected.astype(np.float32))
    return float(diff.mean()) <= tolerance


def test_the_scanner_picks_up_avif_and_jpeg_xl() -> None:
    assert {".avif", ".jxl"} <= IMAGE_EXTENSIONS


def test_8_bit_avif_decodes() -> None:
    decoded = decode_image(encoded(PHOTO, "AVIF", quality=90))
    assert (decoded.format, decoded.width, decoded.height) == ("AVIF", 600, 400)
    assert close_to(decoded.image, np.asarray(PHOTO), 4.0)


def test_10_bit_avif_decodes_to_the_8_bit_picture_it_holds() -> None:
    import imagecodecs

    data = avif_10bit(np.asarray(PHOTO))
    assert imagecodecs.avif_decode(data).dtype == np.uint16  # really 10 bits in the file
    decoded = decode_image(data)
    assert (decoded.format, decoded.image.mode, decoded.image.size) == ("AVIF", "RGB", (600, 400))
    assert close_to(decoded.image, np.asarray(PHOTO), 4.0)  # not 4x too bright, not clipped


def test_avif_alpha_is_composited_on_white() -> None:
    rgba = PHOTO.convert("RGBA")
    alpha = np.full((400, 600), 255, np.uint8)
    alpha[:, :300] = 0  # the left half is transparent
    rgba.putalpha(Image.fromarray(alpha))
    decoded = np.asarray(decode_image(encoded(rgba, "AVIF", quality=90)).image)
    assert decoded[:, :290].min() >= 250  # white, not the colours hidden under alpha 0
    assert close_to(Image.fromarray(decoded[:, 310:]), np.asarray(PHOTO)[:, 310:], 4.0)


def test_a_cut_avif_is_one_failure_saying_so() -> None:
    data = encoded(PHOTO, "AVIF")
    for cut in (data[:300], data[: len(data) - 10]):
        with pytest.raises(DecodeError) as failed:
            decode_image(cut)
        assert failed.value.reason.startswith("truncated or corrupt "), failed.value.reason
    with pytest.raises(DecodeError, match=r"^truncated or corrupt AVIF data \(300 bytes"):
        decode_image(data[:300])


@needs_jxl
@pytest.mark.parametrize("container", [False, True])
def test_jpeg_xl_decodes_with_the_extra(container: bool) -> None:
    data = encoded(PHOTO, "JXL", lossless=True, use_container=container)
    decoded = decode_image(data)
    assert (decoded.format, decoded.width, decoded.height) == ("JXL", 600, 400)
    np.testing.assert_array_equal(np.asarray(decoded.image), np.asarray(PHOTO))


@needs_jxl
def test_jpeg_xl_over_the_pixel_limit_is_refused_from_its_header() -> None:
    # The plugin decodes every pixel inside Image.open: the limit must come before it. The
    # file is cut after its header, so only a check of the header can say it is too big.
    header = encoded(PHOTO, "JXL")[:40]
    with pytest.raises(DecodeError) as refused:
        decode_image(header, max_pixels=1_000)
    assert refused.value.reason == (
        "decompression bomb or oversized image: 600x400 (240,000 pixels) is over the 1,000 "
        "pixels limit (VITRIEVE_MAX_IMAGE_PIXELS)"
    )
    with pytest.raises(DecodeError, match="libjxl cannot decode it"):
        decode_image(header)  # under the limit, the same bytes reach libjxl, which fails


@needs_jxl
def test_a_cut_jpeg_xl_is_one_failure_saying_so() -> None:
    data = encoded(PHOTO, "JXL")
    for size in (5, len(data) // 2):
        with pytest.raises(DecodeError) as failed:
            decode_image(data[:size])
        assert failed.value.reason.startswith(f"truncated or corrupt JPEG XL data ({size} bytes")


@needs_jxl  # the file is written by the plugin; the decode runs where it cannot be imported
def test_without_the_extra_a_jpeg_xl_file_fails_naming_it(tmp_path: Path) -> None:
    (tmp_path / "photo.jxl").write_bytes(encoded(PHOTO, "JXL"))
    script = (
        "import sys; sys.modules['pillow_jxl'] = None\n"  # import pillow_jxl -> ImportError
        "from vitrieve.indexer.decode import DecodeError, decode_image\n"
        "try:\n"
        "    decode_image(open(sys.argv[1], 'rb').read())\n"
        "except DecodeError as exc:\n"
        "    print(exc.reason)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "photo.jxl")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert (proc.stdout, proc.stderr) == (NO_JXL_REASON + "\n", "")
    assert NO_JXL_REASON == "JPEG XL needs the optional extra: pip install 'vitrieve[jxl]'"


def test_a_folder_of_these_formats_ingests_and_each_is_found_by_a_copy(settings, tmp_path):
    root = tmp_path / "archive"
    root.mkdir()
    files = {
        "phone.avif": encoded(real_photo("astronaut"), "AVIF"),
        "deep.avif": avif_10bit(np.asarray(real_photo("rocket"))),
        "multipage_rgb.tif": MULTIPAGE_RGB.read_bytes(),
        **{  # one picture per kind: identical pictures would tie in search
            f"{kind}.tif": odd_tiffs(np.asarray(real_photo(name).resize((320, 240))))[kind]
            for kind, name in zip(
                ("planar", "float32", "5-sample", "bigtiff", "pyramid"),
                ("camera", "coffee", "immunohistochemistry", "chelsea", "astronaut"),
                strict=True,
            )
        },
        "cut.avif": encoded(PHOTO, "AVIF")[:300],
        "cut.tif": odd_tiffs(np.asarray(PHOTO))["float32"][:5000],
    }
    if JXL_READABLE:
        files["scan.jxl"] = encoded(real_photo("page"), "JXL")
    for name, data in files.items():
        (root / name).write_bytes(data)
    bad = {"cut.avif", "cut.tif"}
    with Library(settings) as lib:
        summary = ingest(lib, [root])
        assert (summary.embedded, summary.failed) == (len(files) - 2, 2)
        with lib.sessions() as session:
            rows = session.execute(
                select(ImageRow.rel_path, ImageRow.status, ImageRow.content_hash, ImageRow.error)
            ).all()
        by_name = {row.rel_path: row for row in rows}
        assert by_name["cut.avif"].error.startswith("truncated or corrupt AVIF data")
        assert by_name["cut.tif"].error.startswith("Pillow: truncated or corrupt TIFF data")
        outside = tmp_path / "queries"
        outside.mkdir()
        for name in sorted(set(files) - bad):
            row = by_name[name]
            assert row.status == ImageStatus.EMBEDDED, (name, row.error)
            assert thumbnail_ok(thumbnail_path(settings.thumb_dir, row.content_hash)), name
            query = outside / name
            shutil.copy(root / name, query)
            top = search(lib, query_from_file(lib, query), k=1)
            assert [r.path for r in top] == [str(root / name)], name

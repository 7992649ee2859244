"""How big an image may be: real 100-250 MP photos are admitted and cost little memory, bombs
are refused before any pixel is decoded, and many big decodes at once stay bounded.

The big inputs are real files made here (a 150 MP JPEG, a 20000x20000 PNG bomb with all its
pixel data, GIFs with a huge logical screen or frame), and memory is measured as the peak RSS
of a fresh process, where a full decode would show as hundreds of MB.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from tests.support import gif, png_bomb
from vitrieve.core.config import Settings
from vitrieve.indexer.decode import DecodeError, decode_image
from vitrieve.indexer.limits import LARGE_PIXELS

REPO = Path(__file__).parents[2]
needs_procfs = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="peak RSS is read from Linux procfs"
)


def reason_of(payload: bytes, **kwargs: object) -> str:
    with pytest.raises(DecodeError) as info:
        decode_image(payload, **kwargs)
    return info.value.reason


@pytest.fixture(scope="module")
def jpeg_150mp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """15000x10000 (a 150 MP medium-format frame); plain grey keeps it quick to make."""
    path = tmp_path_factory.mktemp("big") / "pano.jpg"
    Image.new("L", (15_000, 10_000), 128).save(path, quality=80)
    return path


def peak_rss_mb(script: str, *args: str) -> dict:
    """Runs `script` in a fresh interpreter; it fills `out`, to which its peak RSS growth over
    the baseline after imports is added, in MB. VmHWM, not ru_maxrss: Linux carries the
    latter over from the forking (pytest) process through exec."""
    prelude = (
        "import json, sys\n"
        "from indexer.decode import decode_image\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "base = hwm()\n"
    )
    epilogue = "\nout['rss_mb'] = hwm() - base\nprint(json.dumps(out))\n"
    proc = subprocess.run(
        [sys.executable, "-c", prelude + script + epilogue, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        # A fixed mmap threshold: freed image blocks go back to the OS at once, so the peak
        # measures what was alive together rather than what glibc kept cached.
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "MALLOC_MMAP_THRESHOLD_": "65536"},
        check=True,
    )
    return json.loads(proc.stdout)


def test_default_limit_admits_250_mp_and_refuses_a_20000_square_bomb() -> None:
    limit = Settings().max_image_pixels
    assert 250_000_000 <= limit < 20_000 * 20_000


def test_150_mp_jpeg_is_admitted_and_decoded_in_draft_mode(jpeg_150mp: Path) -> None:
    decoded = decode_image(jpeg_150mp.read_bytes(), target_size=224)
    assert (decoded.width, decoded.height) == (15_000, 10_000)
    assert decoded.image.size == (1875, 1250)  # libjpeg's 1/8 scale, still >= 2x224
    assert decoded.image.getpixel((900, 600)) == (128, 128, 128)


@needs_procfs
def test_150_mp_jpeg_decodes_within_a_few_mb(jpeg_150mp: Path) -> None:
    out = peak_rss_mb(
        "d = decode_image(open(sys.argv[1], 'rb').read())\nout = {'size': list(d.image.size)}",
        str(jpeg_150mp),
    )
    assert out["size"] == [1875, 1250]
    # A full decode holds 150 MB of grey plus 450 MB of RGB; the draft one, ~2 MB + the file.
    assert out["rss_mb"] < 60, out


def test_250_mp_jpeg_is_admitted() -> None:
    # A real 20000x12500 frame takes long to encode, so this is a 64x64 JPEG whose header is
    # rewritten to declare 20000x12500; libjpeg fills what its data does not cover with grey.
    buf = BytesIO()
    Image.new("RGB", (64, 64), "red").save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 12_500, 20_000)
    decoded = decode_image(bytes(data), target_size=224)
    assert (decoded.width, decoded.height) == (20_000, 12_500)
    assert decoded.image.size == (2500, 1563)  # drafted at 1/8


def test_png_bomb_is_refused_before_decoding() -> None:
    assert reason_of(png_bomb()) == (
        "decompression bomb or oversized image: 20000x20000 (400.0 MP) is over the 300.0 MP "
        "limit (VITRIEVE_MAX_IMAGE_PIXELS)"
    )


@needs_procfs
def test_png_bomb_costs_no_memory() -> None:
    out = peak_rss_mb(
        "from indexer.decode import DecodeError\n"
        "from tests.support.hostile import png_bomb\n"
        "try:\n    decode_image(png_bomb())\nexcept DecodeError as e:\n    out = {'r': e.reason}\n"
    )
    assert out["r"].startswith("decompression bomb or oversized image: 20000x20000")
    assert out["rss_mb"] < 100, out  # the PNG itself is built in memory; 400 MP would be 400 MB


def test_gif_with_a_huge_logical_screen_is_refused() -> None:
    assert reason_of(gif(screen=(65_535, 65_535), frame=(1, 1))) == (
        "decompression bomb or oversized image: 4294.8 MP is over the 300.0 MP limit "
        "(VITRIEVE_MAX_IMAGE_PIXELS)"
    )


def test_gif_frame_that_enlarges_a_small_screen_is_refused() -> None:
    assert reason_of(gif(screen=(100, 100), frame=(25_000, 15_000))) == (
        "decompression bomb or oversized image: 25000x15000 (375.0 MP) is over the 300.0 MP "
        "limit (VITRIEVE_MAX_IMAGE_PIXELS)"
    )


def test_lower_configured_limit_refuses_the_150_mp_jpeg(jpeg_150mp: Path) -> None:
    reason = reason_of(jpeg_150mp.read_bytes(), max_pixels=100_000_000)
    assert reason == (
        "decompression bomb or oversized image: 15000x10000 (150.0 MP) is over the 100.0 MP "
        "limit (VITRIEVE_MAX_IMAGE_PIXELS)"
    )


def test_limit_holds_even_with_pillows_own_check_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert reason_of(png_bomb()).startswith("decompression bomb or oversized image: 20000x20000")
    assert Image.MAX_IMAGE_PIXELS is None  # and another program's choice is left alone


def test_pillows_limit_is_raised_to_ours_never_lowered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 89_478_485)  # Pillow's default
    decode_image(gif(screen=(1, 1), frame=(1, 1)), max_pixels=300_000_000)
    assert Image.MAX_IMAGE_PIXELS == 300_000_000
    decode_image(gif(screen=(1, 1), frame=(1, 1)), max_pixels=1000)
    assert Image.MAX_IMAGE_PIXELS == 300_000_000


def test_large_png_comes_out_reduced_but_reports_its_full_size() -> None:
    buf = BytesIO()
    Image.new("L", (10_000, 7_000), 200).save(buf, "PNG")  # 70 MP: over LARGE_PIXELS
    assert LARGE_PIXELS < 10_000 * 7_000
    decoded = decode_image(buf.getvalue(), target_size=224)
    assert (decoded.width, decoded.height) == (10_000, 7_000)
    assert min(decoded.image.size) >= 2 * 224
    assert decoded.image.size == (667, 467)  # box-reduced by 15, like a JPEG draft
    assert decoded.image.getpixel((300, 200)) == (200, 200, 200)


@needs_procfs
def test_threads_decoding_large_images_use_the_memory_of_one(tmp_path: Path) -> None:
    paths = []
    for i in range(4):
        path = tmp_path / f"scan{i}.png"
        Image.new("L", (10_000, 7_000), 50 * i).save(path)
        paths.append(str(path))
    script = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "datas = [open(p, 'rb').read() for p in sys.argv[1:]]\n"
        "with ThreadPoolExecutor(len(datas)) as pool:\n"
        "    sizes = list(pool.map(lambda d: decode_image(d).image.size, datas))\n"
        "out = {'sizes': sizes}\n"
    )
    one = peak_rss_mb(script, paths[0])
    four = peak_rss_mb(script, *paths)
    assert four["sizes"] == [[667, 467]] * 4
    # Each decode peaks at ~300 MB (grey + RGB); four at once would need ~1.2 GB.
    assert four["rss_mb"] < 1.5 * one["rss_mb"] + 50, (one, four)

"""What Pillow and libtiff say about a file ends up with that file, never on the terminal.

A file that fails carries the messages in its reason; a file that decodes despite them gets
an INFO log line naming it. Nothing is written to fd 2 (libtiff prints from C), decode threads
never see each other's messages, and warnings outside a decode are left alone.
"""

from __future__ import annotations

import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO

import pytest
from PIL import Image

from tests.support import deflate_tiff, good_png, invalid_apng, tiff_cut_in_its_directory
from vitrieve.indexer.decode import DecodeError, decode_image
from vitrieve.indexer.decode_messages import LIBTIFF_CAPTURED, captured


def outcome(payload: bytes, source: str = "") -> str:
    """'ok WxH', or the failure reason."""
    try:
        decoded = decode_image(payload, source=source)
    except DecodeError as exc:
        return exc.reason
    return f"ok {decoded.width}x{decoded.height}"


@pytest.mark.skipif(not LIBTIFF_CAPTURED, reason="libtiff's handlers are not reachable here")
def test_libtiff_errors_go_into_the_reason_not_to_stderr(capfd: pytest.CaptureFixture) -> None:
    # Pillow (libtiff) fails, then tifffile (indexer/tiff_fallback.py) fails too: both speak.
    assert outcome(deflate_tiff("zeroed")) == (
        "Pillow: truncated or corrupt image data: decoder error -2; tifffile: "
        "libdeflate_zlib_decompress returned LIBDEFLATE_BAD_DATA; libtiff: ZIPDecode: Decoding "
        "error at scanline 0, invalid stored block lengths"
    )
    assert capfd.readouterr() == ("", "")


@pytest.mark.skipif(not LIBTIFF_CAPTURED, reason="libtiff's handlers are not reachable here")
def test_a_tiff_libtiff_gives_up_on_is_read_by_tifffile_and_logged(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture
) -> None:
    # Its strip byte counts point past the end, but every strip is there: libtiff refuses the
    # strip, tifffile reads what the file holds. libtiff's words go to the file's log line.
    with caplog.at_level(logging.INFO, logger="vitrieve.indexer.decode"):
        assert outcome(deflate_tiff("short"), source="scans/short.tif") == "ok 400x300"
    [line] = [r.getMessage() for r in caplog.records if r.name == "vitrieve.indexer.decode"]
    assert line.startswith("scans/short.tif: decoded, but: libtiff: TIFFFillStrip: Read error")
    assert capfd.readouterr() == ("", "")


def test_pillow_warnings_go_into_the_reason(capfd: pytest.CaptureFixture) -> None:
    assert outcome(tiff_cut_in_its_directory()) == (
        "Pillow: truncated or corrupt TIFF data (14 bytes, header unreadable); "
        "tifffile: corrupted IFD structure; "
        "Corrupt EXIF data. Expecting to read 12 bytes but only got 4."
    )
    assert capfd.readouterr() == ("", "")


def test_the_same_warning_reaches_every_file_that_causes_it() -> None:
    # Python shows a repeated warning once per location by default; each file must get it.
    reasons = {outcome(tiff_cut_in_its_directory()) for _ in range(3)}
    assert len(reasons) == 1 and "Corrupt EXIF data" in reasons.pop()


def test_file_that_decodes_despite_a_warning_is_logged_with_its_name(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="vitrieve.indexer.decode"):
        assert outcome(invalid_apng(), source="holiday/anim.png") == "ok 32x24"
    assert [r.getMessage() for r in caplog.records if r.name == "vitrieve.indexer.decode"] == [
        "holiday/anim.png: decoded, but: Invalid APNG, will use default PNG image if possible"
    ]
    assert capfd.readouterr() == ("", "")


def test_clean_files_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="indexer"):
        assert outcome(good_png()) == "ok 50x40"
    assert caplog.records == []


def test_decode_threads_never_see_each_others_messages() -> None:
    inputs = {
        "zeroed": deflate_tiff("zeroed"),
        "cut": tiff_cut_in_its_directory(),
        "apng": invalid_apng(),
        "good": good_png(),
    }
    expected = {name: outcome(data) for name, data in inputs.items()}
    work = [name for _ in range(25) for name in inputs]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda name: (name, outcome(inputs[name])), work))
    assert {name: {r for n, r in got if n == name} for name in inputs} == {
        name: {reason} for name, reason in expected.items()
    }


def test_warnings_outside_a_decode_are_left_alone() -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.warn("vitrieve's own warning", UserWarning, stacklevel=1)
        Image.open(BytesIO(invalid_apng())).load()  # Pillow, but not inside decode_image
    assert [str(w.message) for w in seen] == [
        "vitrieve's own warning",
        "Invalid APNG, will use default PNG image if possible",
    ]


def test_capture_survives_a_catch_warnings_block_around_it() -> None:
    # pytest, libraries and tests wrap code in catch_warnings(record=True); a decode inside
    # one still keeps its own messages, and the outer block sees none of them.
    with warnings.catch_warnings(record=True) as seen:
        assert "Corrupt EXIF data" in outcome(tiff_cut_in_its_directory())
    assert seen == []


def test_captures_nest_and_the_innermost_gets_the_message() -> None:
    with captured() as outer:
        with captured() as inner:
            warnings.warn("inner", UserWarning, stacklevel=1)
        warnings.warn("outer", UserWarning, stacklevel=1)
    assert (inner.messages, outer.messages) == (["inner"], ["outer"])


def test_reason_keeps_a_few_messages_and_counts_the_rest() -> None:
    with captured() as notes:
        for i in range(30):
            warnings.warn(f"strip {i} unreadable", UserWarning, stacklevel=1)
    assert (
        notes.summary()
        == "strip 0 unreadable; strip 1 unreadable; strip 2 unreadable (and 27 more)"
    )


def test_warnings_promoted_to_errors_fail_only_that_file() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as `python -W error` would
        assert outcome(invalid_apng()) == (
            "truncated or corrupt PNG header: Invalid APNG, will use default PNG image if possible"
        )
        assert outcome(good_png()) == "ok 50x40"

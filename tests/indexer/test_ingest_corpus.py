"""A real collection, hostile parts included, ingested by `vitrieve ingest` as a user runs it.

The folder mixes valid photos (a 150 MP frame among them) with what real disks hold: a FIFO and
a socket named like photos, a 1 TiB sparse file, decompression bombs, files Pillow and libtiff
complain about. The run must finish, every bad file must be exactly one failure with its
reason, every good file must be findable by search, nothing but vitrieve's own output may
reach the terminal, and a second ingest must do nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from tests.support import (
    TINY_VIT,
    cli_env,
    cut_avif,
    deflate_tiff,
    gif,
    invalid_apng,
    invoke_cli,
    png_bomb,
    real_photo,
    tiff_cut_in_its_directory,
)
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.query import query_from_file, search
from vitrieve.tables.catalog import Image, ImageStatus
from vitrieve.tables.fsnames import display_path

pytestmark = pytest.mark.timeout(600)


@dataclass(frozen=True)
class CorpusFile:
    """One entry of the collection: `make` creates it at the path it is given; `reason` is
    None for a good file, else the start of the one failure it must produce."""

    name: str
    make: Callable[[Path], object]
    reason: str | None = None


def photo(name: str, fmt: str = "JPEG") -> Callable[[Path], object]:
    return lambda path: real_photo(name).save(path, fmt)


def data(payload: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(payload)


def sparse(size: int) -> Callable[[Path], object]:
    def make(path: Path) -> None:
        with path.open("wb") as fh:
            fh.truncate(size)

    return make


def unix_socket(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    return server  # kept open (and the socket file in place) until the test ends


def truncated_jpeg(path: Path) -> None:
    buf = BytesIO()
    real_photo("coffee").save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


CORPUS: list[CorpusFile] = [
    CorpusFile("astronaut.jpg", photo("astronaut")),
    CorpusFile("trip/chelsea.png", photo("chelsea", "PNG")),
    CorpusFile("trip/rocket.webp", photo("rocket", "WEBP")),
    CorpusFile("medium-format/pano.jpg", lambda p: PILImage.new("L", (15_000, 10_000)).save(p)),
    CorpusFile("anim.png", data(invalid_apng())),  # Pillow warns, the PNG is fine
    CorpusFile("pipe.jpg", os.mkfifo, "not a regular file"),  # the scan sees what it is
    CorpusFile("sock.jpg", unix_socket, "not a regular file"),
    CorpusFile("huge.jpg", sparse(1024**4), "file too large: 1.0 TiB is over the 2.0 GiB limit"),
    CorpusFile("bomb.png", data(png_bomb()), "decompression bomb or oversized image: 20000x20000"),
    CorpusFile("screen.gif", data(gif((65_535, 65_535), (1, 1))), "decompression bomb or "),
    CorpusFile("empty.jpg", data(b""), "empty file (0 bytes)"),
    CorpusFile("notes.png", data(b"shopping list: milk"), "not an image (unrecognised format)"),
    CorpusFile("cut.jpg", truncated_jpeg, "truncated or corrupt image data"),
    CorpusFile(
        "scans/zeroed.tif",
        data(deflate_tiff("zeroed")),
        "Pillow: truncated or corrupt image data: decoder error -2; tifffile: libdeflate_zlib_",
    ),
    CorpusFile(
        "scans/cut.tif",
        data(tiff_cut_in_its_directory()),
        "Pillow: truncated or corrupt TIFF data (14 bytes, header unreadable); tifffile: ",
    ),
    CorpusFile("phone/cut.avif", data(cut_avif()), "truncated or corrupt image data: Failed"),
]

# Names that are not valid UTF-8 (a Latin-1 share): a good photo in a folder named in bytes, and
# a broken file whose own name is not UTF-8. Reported paths show undecodable bytes as \xNN.
EXTRA_FILES: list[CorpusFile] = [
    CorpusFile(os.fsdecode(b"dir-\xff/caf\xe9.jpg"), photo("coffee")),
    CorpusFile(os.fsdecode(b"\xff\xfe-broken.png"), data(b"\x89PNG\r\n\x1a\n"), "truncated "),
]


@pytest.fixture
def corpus(tmp_path: Path):
    root = tmp_path / "collection"
    keep = []
    for entry in [*CORPUS, *EXTRA_FILES]:
        path = root / entry.name
        path.parent.mkdir(parents=True, exist_ok=True)
        keep.append(entry.make(path))
    yield root
    for thing in keep:
        if isinstance(thing, socket.socket):
            thing.close()


def test_hostile_collection_ingests_to_the_end_with_one_reason_per_bad_file(corpus, tmp_path):
    home = tmp_path / "home"
    entries = [*CORPUS, *EXTRA_FILES]
    proc = invoke_cli(cli_env(home), "ingest", str(corpus), "--json")
    # Nothing from Pillow or libtiff reaches the terminal: their words are in the reasons.
    assert proc.stderr == ""
    first = json.loads(proc.stdout)

    reasons = {str(Path(f["path"]).relative_to(corpus)): f["reason"] for f in first["failures"]}
    bad = {display_path(e.name): e.reason for e in entries if e.reason is not None}
    assert sorted(reasons) == sorted(bad)  # exactly one failure per bad file, nothing else
    for name, expected in bad.items():
        assert reasons[name].startswith(expected), (name, reasons[name])
        assert "\n" not in reasons[name]
    good = [e.name for e in entries if e.reason is None]
    assert first["embedded"] == len(good)

    settings = Settings(home=home, model=str(TINY_VIT), precision="fp32", runtime="torch")
    with Library(settings) as lib:
        with lib.sessions() as session:
            statuses = dict(session.execute(select(Image.rel_path, Image.status)).all())
        assert {n for n, s in statuses.items() if s == ImageStatus.EMBEDDED} == set(good)
        # Every good file is searchable: a copy of it from elsewhere finds it first.
        outside = tmp_path / "queries"
        outside.mkdir()
        for name in good:
            query = outside / Path(name).name
            shutil.copy(corpus / name, query)
            top = search(lib, query_from_file(lib, query), k=1)
            assert [r.path for r in top] == [str(corpus / name)], name

        second = ingest(lib, [corpus])
    assert (second.new, second.changed, second.moved, second.embedded) == (0, 0, 0, 0)
    assert second.unchanged == len(statuses)
    # The FIFO and the socket are not catalogued, so the scan names them again; no file is read.
    assert sorted(Path(f.path).name for f in second.failures) == ["pipe.jpg", "sock.jpg"]


def test_failure_lines_show_paths_and_reasons_verbatim(tmp_path):
    # Brackets are not terminal markup: a '[draft]' folder or a reason's words stay visible.
    folder = tmp_path / "[draft] scans"
    folder.mkdir()
    (folder / "page.tif").write_bytes(deflate_tiff("zeroed"))
    real_photo("camera").save(folder / "ok.png")
    proc = invoke_cli(cli_env(tmp_path / "home"), "ingest", str(folder))
    assert proc.stderr == ""
    failed = [line for line in proc.stdout.splitlines() if line.startswith("failed ")]
    assert failed == [
        f"failed {folder / 'page.tif'}: Pillow: truncated or corrupt image data: decoder error "
        "-2; tifffile: libdeflate_zlib_decompress returned LIBDEFLATE_BAD_DATA; "
        "libtiff: ZIPDecode: Decoding error at scanline 0, invalid stored block lengths"
    ]

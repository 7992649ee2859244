"""Specification of indexer.reader.read_file: whatever sits at a path, one bounded read or a
one-line reason, and never a block (FIFO) or an unbounded read (/dev/zero, 1 TB sparse file).

Every file here is real: FIFOs, sockets, sparse files and /dev/zero are made or opened for
real, so a regression shows as a hang (the timeouts below) or a MemoryError, as users saw it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import xxhash
from PIL import Image

from vitrieve.indexer import reader
from vitrieve.indexer.reader import ReadError, pixel_hash, read_file

pytestmark = pytest.mark.timeout(60)  # a FIFO that blocks must fail the test, not hang it

MB = 1024 * 1024


def reason(path: Path, max_size: int = 2 * 1024**3) -> str:
    with pytest.raises(ReadError) as info:
        read_file(path, max_size=max_size)
    assert "\n" not in info.value.reason
    return info.value.reason


def test_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    payload = os.urandom(300_000)
    path.write_bytes(payload)
    assert read_file(path, max_size=len(payload)) == payload


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    assert reason(fifo) == "not a regular file (FIFO)"


def test_fifo_with_a_writer_attached_is_refused_too(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(fifo)!r}, 'wb'); f.write(b'x' * 10); input()"],
        stdin=subprocess.PIPE,
    )
    try:
        assert reason(fifo) == "not a regular file (FIFO)"
    finally:
        writer.kill()
        writer.wait()


def test_symlink_to_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "photo.jpg").symlink_to(fifo)
    assert reason(tmp_path / "photo.jpg") == "not a regular file (FIFO)"


def test_unix_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.jpg"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        assert reason(path) == "not a regular file (socket)"
    finally:
        server.close()


def test_character_device_is_refused_not_read_forever() -> None:
    assert reason(Path("/dev/zero")) == "not a regular file (character device)"


def test_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "album.jpg").mkdir()
    assert reason(tmp_path / "album.jpg") == "is a directory"


def test_sparse_terabyte_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    with path.open("wb") as fh:
        fh.truncate(1024**4)  # 1 TiB of holes: costs no disk, would cost 1 TiB of memory
    assert (
        reason(path) == "file too large: 1.0 TiB is over the 2.0 GiB limit (VITRIEVE_MAX_FILE_SIZE)"
    )


def test_size_limit_is_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x" * MB)
    assert len(read_file(path, max_size=MB)) == MB
    assert reason(path, max_size=MB - 1).startswith("file too large: 1.0 MiB is over the ")
    assert reason(path, max_size=MB // 2) == (
        "file too large: 1.0 MiB is over the 512.0 KiB limit (VITRIEVE_MAX_FILE_SIZE)"
    )


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux procfs")
def test_file_yielding_more_than_its_size_is_refused() -> None:
    # procfs files say 0 bytes and then produce text: exactly what growth during a read is.
    assert reason(Path("/proc/self/status")) == (
        "changed while being read: grew beyond its 0 bytes (still being written?)"
    )


def test_vanished_file_and_broken_symlink(tmp_path: Path) -> None:
    assert reason(tmp_path / "gone.jpg") == "vanished before it could be read"
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "nowhere")
    assert reason(tmp_path / "dangling.jpg") == "vanished before it could be read"


def test_symlink_loop_is_named(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").symlink_to(tmp_path / "b.jpg")
    (tmp_path / "b.jpg").symlink_to(tmp_path / "a.jpg")
    assert reason(tmp_path / "a.jpg") == "too many levels of symbolic links"


def test_no_descriptor_is_leaked_by_refusals(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    big = tmp_path / "big.jpg"
    big.write_bytes(b"x" * 100)
    before = len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").exists() else None
    for _ in range(50):
        reason(fifo)
        reason(big, max_size=10)
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before


def test_reads_run_in_parallel_threads(tmp_path: Path) -> None:
    paths = []
    for i in range(8):
        p = tmp_path / f"{i}.jpg"
        p.write_bytes(bytes([i]) * (i + 1) * 10_000)
        paths.append(p)
    os.mkfifo(tmp_path / "pipe.jpg")
    results: dict[str, object] = {}

    def work(path: Path) -> None:
        try:
            results[path.name] = len(read_file(path, max_size=MB))
        except ReadError as exc:
            results[path.name] = exc.reason

    threads = [threading.Thread(target=work, args=(p,)) for p in [*paths, tmp_path / "pipe.jpg"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {
        **{f"{i}.jpg": (i + 1) * 10_000 for i in range(8)},
        "pipe.jpg": "not a regular file (FIFO)",
    }


def test_pixel_hash_in_bands_equals_hashing_all_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    image = Image.effect_noise((300, 200), 40).convert("RGB")
    expected = xxhash.xxh3_128(b"RGB:300x200:" + image.tobytes()).hexdigest()
    assert pixel_hash(image) == expected
    monkeypatch.setattr(reader, "_HASH_BAND_BYTES", 7 * 300 * 3)  # 7 rows per band, last short
    assert pixel_hash(image) == expected

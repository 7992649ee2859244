"""Specifications for indexer.gpu_pipeline, run on CPU tensors: the GPU front end gives the
catalog what the CPU pipeline gives it, routes what it cannot decode to the CPU path, keeps
EXIF orientation, bounds memory, and never loses a batch to an out-of-memory error.

No GPU here: a Pillow decoder stands in for nvJPEG (it decodes the file as nvJPEG would: no
orientation, no draft), and everything after decoding is the real code on device "cpu".
"""

from __future__ import annotations

import os
from functools import partial
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sqlalchemy import select

from tests.support import PREPROCESS_SPEC as SPEC
from tests.support import noise_image, pil_decoder, real_photo
from vitrieve.indexer import gpu_pipeline
from vitrieve.indexer.catalog import iter_vectors
from vitrieve.indexer.decode import _TRANSPOSE_FOR_ORIENTATION
from vitrieve.indexer.gpu_pipeline import GpuStats, gpu_prepared_stream, read_header, stream_for
from vitrieve.indexer.gpu_transforms import (
    orient,
    resize_many,
    split_on_oom,
    tensor_pixel_hashes,
    thumb_size,
)
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.indexer.limits import InputLimits
from vitrieve.indexer.pipeline import WorkItem, prepare, prepared_stream
from vitrieve.indexer.thumbnails import thumbnail_path
from vitrieve.tables.catalog import Image as ImageRow


def as_chw(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.convert("RGB")).copy()).permute(2, 0, 1)


def save_jpeg(path: Path, image: Image.Image, orientation: int = 1, taken: str = "") -> Path:
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    if taken:
        exif[0x0132] = taken
    image.save(path, format="JPEG", quality=92, exif=exif)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """JPEGs (one rotated by EXIF, one grey, one CMYK), a PNG, and broken files."""
    root = tmp_path / "mixed"
    root.mkdir()
    save_jpeg(root / "astronaut.jpg", real_photo("astronaut"), taken="2021:06:01 10:20:30")
    save_jpeg(root / "rotated.jpg", real_photo("chelsea"), orientation=6)
    save_jpeg(root / "mirrored.jpg", real_photo("coffee"), orientation=7)
    real_photo("camera").convert("L").save(root / "grey.jpg", quality=90)
    real_photo("rocket").convert("CMYK").save(root / "cmyk.jpg", quality=90)
    noise_image(3).save(root / "noise.png")
    good = (root / "astronaut.jpg").read_bytes()
    (root / "cut.jpg").write_bytes(good[: len(good) // 3])
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.jpg").write_bytes(b"not an image")
    return root


def items_of(folder: Path) -> list[WorkItem]:
    return [WorkItem(i, p) for i, p in enumerate(sorted(folder.iterdir()))]


def run_gpu(items, tmp_path: Path, **kw) -> dict[str, object]:
    stats = kw.pop("stats", GpuStats())
    decoder = kw.pop("decoder", pil_decoder)
    out = gpu_prepared_stream(
        items,
        SPEC,
        workers=2,
        window=kw.pop("window", 8),
        thumb_dir=tmp_path / "thumbs-gpu",
        device="cpu",
        decoder=decoder,
        stats=stats,
        **kw,
    )
    return {p.path.name: p for p in out}


# -- transforms --------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pillows_transposes(orientation: int) -> None:
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (5, 7, 3), np.uint8))
    expected = (
        image.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation]) if orientation > 1 else image
    )
    np.testing.assert_array_equal(
        orient(as_chw(image), orientation).permute(1, 2, 0).numpy(), np.asarray(expected)
    )


@pytest.mark.parametrize("size", [(1600, 1200), (1200, 1600), (257, 256), (6000, 3), (100, 80)])
def test_thumbnail_size_is_pillows(size: tuple[int, int]) -> None:
    image = Image.new("L", size)
    image.thumbnail((256, 256))
    assert thumb_size(*size) == image.size


def test_resize_matches_pillow_bilinear_and_keeps_order_across_size_groups() -> None:
    photos = [real_photo(n) for n in ("astronaut", "chelsea", "astronaut", "coffee")]
    out = resize_many([as_chw(p) for p in photos], [(224, 224)] * 4)
    for photo, got in zip(photos, out, strict=True):
        ref = np.asarray(photo.resize((224, 224), Image.Resampling.BILINEAR), dtype=np.float32)
        assert got.shape == (224, 224, 3) and got.dtype == torch.uint8
        assert np.abs(got.numpy().astype(np.float32) - ref).mean() < 1.5
    np.testing.assert_array_equal(out[0].numpy(), out[2].numpy())


def test_pixel_hash_follows_pixels_and_size_only() -> None:
    img = as_chw(real_photo("astronaut"))
    same, other = tensor_pixel_hashes([img, img.clone()]), img.clone()
    other[1, 200, 300] ^= 1  # one bit of one pixel
    assert same[0] == same[1] and len(same[0]) == 32
    assert tensor_pixel_hashes([other])[0] != same[0]
    flat = img.reshape(3, 1, -1)  # same bytes, other shape
    assert tensor_pixel_hashes([flat])[0] != same[0]
    odd = torch.zeros(3, 3, 5, dtype=torch.uint8)  # byte count not a multiple of 8
    assert tensor_pixel_hashes([odd]) == tensor_pixel_hashes([odd.clone()])


# -- out of memory ---------------------------------------------------------------------


def oom_above(limit: int, fn):
    def wrapped(batch):
        if len(batch) > limit:
            raise torch.OutOfMemoryError("CUDA out of memory (fake)")
        return fn(batch)

    return wrapped


def test_out_of_memory_batches_are_split_and_nothing_is_lost() -> None:
    batch = np.arange(13)
    seen: list[int] = []

    def square(part):
        seen.append(len(part))
        return np.asarray(part) ** 2

    np.testing.assert_array_equal(split_on_oom(oom_above(3, square), batch), batch**2)
    assert max(seen) <= 3
    assert split_on_oom(oom_above(2, lambda p: [x + 1 for x in p]), [1, 2, 3, 4, 5]) == [
        2,
        3,
        4,
        5,
        6,
    ]
    with pytest.raises(torch.OutOfMemoryError):
        split_on_oom(oom_above(0, square), batch)  # even one item does not fit: say so


def test_embedder_splits_an_out_of_memory_batch(settings) -> None:
    from vitrieve.indexer.embedder import Embedder

    embedder = Embedder.from_settings(settings.model_copy(update={"batch_size": 8}))
    pixels = np.stack([SPEC.resize(noise_image(s)) for s in range(8)])
    expected = embedder.embed_pixels(pixels)
    real_forward = embedder._forward
    sizes: list[int] = []

    def forward(model, part, dtype):
        sizes.append(len(part))
        if len(part) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (fake)")
        return real_forward(model, part, dtype)

    embedder._forward = forward
    np.testing.assert_allclose(embedder.embed_pixels(pixels), expected, atol=1e-5)
    assert sizes[0] == 8 and max(s for s in sizes if s <= 2) == 2


# -- header and routing --------------------------------------------------------------------


def test_header_gives_upright_size_orientation_and_capture_time(folder: Path) -> None:
    rotated = read_header((folder / "rotated.jpg").read_bytes())
    w, h = real_photo("chelsea").size
    assert (rotated.format, rotated.width, rotated.height, rotated.orientation) == ("JPEG", h, w, 6)
    taken = read_header((folder / "astronaut.jpg").read_bytes()).captured_at
    assert taken is not None and taken.isoformat() == "2021-06-01T10:20:30"
    assert read_header((folder / "grey.jpg").read_bytes()) is not None
    for name in ("cmyk.jpg", "noise.png", "cut.jpg", "text.jpg", "empty.jpg"):
        assert read_header((folder / name).read_bytes()) is None, name


def test_huge_and_over_limit_jpegs_go_to_the_cpu_path() -> None:
    # 20000x12500 declared in the header of a small JPEG: 750 MB on the GPU in full, a few MB
    # as a CPU draft decode; and anything over the configured pixel limit is the CPU's to refuse.
    buf = BytesIO()
    Image.new("RGB", (64, 64), "red").save(buf, "JPEG")
    huge = bytearray(buf.getvalue())
    sof = huge.index(b"\xff\xc0")
    huge[sof + 5 : sof + 9] = (12_500).to_bytes(2, "big") + (20_000).to_bytes(2, "big")
    assert read_header(bytes(huge)) is None
    assert read_header(buf.getvalue(), max_pixels=64 * 64) is not None
    assert read_header(buf.getvalue(), max_pixels=64 * 64 - 1) is None


def test_stream_fails_fifos_and_oversized_files_like_the_cpu_path(
    tmp_path: Path, folder: Path
) -> None:
    os.mkfifo(folder / "pipe.jpg")
    limits = InputLimits(max_file_size=(folder / "astronaut.jpg").stat().st_size - 1)
    got = run_gpu(items_of(folder), tmp_path, limits=limits)
    assert got["pipe.jpg"].error == "not a regular file (FIFO)"
    assert got["astronaut.jpg"].error.startswith("file too large: ")
    assert got["rotated.jpg"].error is None


def test_stream_gives_the_catalog_what_the_cpu_path_gives(folder: Path, tmp_path: Path) -> None:
    stats = GpuStats()
    got = run_gpu(items_of(folder), tmp_path, stats=stats)
    cpu = {it.path.name: prepare(it, SPEC, thumb_dir=tmp_path / "t") for it in items_of(folder)}
    assert set(got) == set(cpu)
    assert stats.gpu_images == 4 and stats.cpu_images == 5  # 4 JPEGs the GPU takes
    for name, ref in cpu.items():
        p = got[name]
        assert p.error == ref.error, name
        assert (p.content_hash, p.width, p.height, p.format, p.captured_at) == (
            ref.content_hash,
            ref.width,
            ref.height,
            ref.format,
            ref.captured_at,
        ), name
        if ref.error is None:
            if name.endswith(".jpg") and name != "cmyk.jpg":  # made on the "GPU"
                assert p.pixel_hash != ref.pixel_hash and len(p.pixel_hash) == 32, name
            diff = np.abs(p.pixels.astype(np.float32) - ref.pixels.astype(np.float32)).mean()
            assert p.pixels.shape == (224, 224, 3) and diff < 2.0, name  # upright, same picture
            thumb = thumbnail_path(tmp_path / "thumbs-gpu", p.content_hash)
            with Image.open(thumb) as im:
                assert im.size == Image.open(thumbnail_path(tmp_path / "t", p.content_hash)).size
    assert got["cut.jpg"].error and "truncated" in got["cut.jpg"].error


def test_jpegs_the_gpu_decoder_rejects_are_redone_on_cpu(folder: Path, tmp_path: Path) -> None:
    def picky(files):
        if any(f.numel() == (folder / "rotated.jpg").stat().st_size for f in files):
            raise RuntimeError("nvjpeg: unsupported")
        return pil_decoder(files)

    stats = GpuStats()
    got = run_gpu(items_of(folder), tmp_path, decoder=picky, stats=stats)
    ref = prepare(WorkItem(0, folder / "rotated.jpg"), SPEC)
    assert stats.gpu_fallbacks == 1 and stats.gpu_images == 3
    p = got["rotated.jpg"]
    assert p.error is None and p.pixel_hash == ref.pixel_hash  # the CPU path made it
    np.testing.assert_array_equal(p.pixels, ref.pixels)


def test_decoder_out_of_memory_is_split_not_lost(folder: Path, tmp_path: Path) -> None:
    stats = GpuStats()
    got = run_gpu(items_of(folder), tmp_path, decoder=oom_above(1, pil_decoder), stats=stats)
    assert stats.gpu_images == 4 and stats.gpu_fallbacks == 0
    assert sum(p.error is None for p in got.values()) == 6


def test_a_thumbnail_that_cannot_be_written_fails_the_item_and_leaves_no_temp_file(
    folder: Path, tmp_path: Path, monkeypatch
) -> None:
    """The GPU path writes thumbnails with the CPU path's writer: a rename that fails (disk
    full, a read-only data directory) is reported on the item and its temp file removed."""
    real_replace = os.replace

    def no_space(src, dst):
        if str(dst).endswith(".webp"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", no_space)
    jpegs = [it for it in items_of(folder) if it.path.name in ("astronaut.jpg", "grey.jpg")]
    stats = GpuStats()
    got = run_gpu(jpegs, tmp_path, stats=stats)
    assert stats.gpu_images == 2
    for p in got.values():
        assert p.error == "cannot write thumbnail: [Errno 28] No space left on device"
    assert [f.name for f in (tmp_path / "thumbs-gpu").rglob("*") if f.is_file()] == []


def test_at_most_window_items_are_in_flight(tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for i in range(30):
        save_jpeg(root / f"{i:02d}.jpg", noise_image(i, (96, 64)))
    pulled = 0

    def items():
        nonlocal pulled
        for i, p in enumerate(sorted(root.iterdir())):
            pulled += 1
            yield WorkItem(i, p)

    stream = gpu_prepared_stream(
        items(), SPEC, workers=2, window=5, device="cpu", decoder=pil_decoder, batch=4
    )
    done = 0
    for p in stream:
        done += 1
        assert p.error is None
        assert pulled - done <= 5  # window - 1 others in flight, one pulled awaiting a slot
    assert done == 30


def test_ingest_uses_the_cpu_pipeline_without_cuda_or_torchvision(settings) -> None:
    assert stream_for(torch.device("cpu"), settings) is prepared_stream
    assert stream_for(torch.device("cuda"), settings.model_copy(update={"gpu_decode": False})) is (
        prepared_stream
    )
    try:
        import torchvision.io  # noqa: F401
    except Exception:
        assert stream_for(torch.device("cuda"), settings) is prepared_stream


def test_ingest_through_the_gpu_front_end_writes_the_same_catalog(
    settings, folder: Path, tmp_path: Path, monkeypatch
) -> None:
    """The whole ingest with the GPU stream (on CPU tensors) vs the CPU stream."""

    def catalog(home: str, gpu: bool):
        if gpu:
            front = partial(gpu_prepared_stream, device="cpu", decoder=pil_decoder)
            monkeypatch.setattr(gpu_pipeline, "stream_for", lambda device, s: front)
        else:
            monkeypatch.setattr(gpu_pipeline, "stream_for", lambda device, s: prepared_stream)
        with Library(settings.model_copy(update={"home": tmp_path / home})) as lib:
            summary = ingest(lib, [folder])
            with lib.sessions() as session:
                rows = session.execute(
                    select(
                        ImageRow.rel_path,
                        ImageRow.status,
                        ImageRow.error,
                        ImageRow.content_hash,
                        ImageRow.width,
                        ImageRow.height,
                        ImageRow.format,
                        ImageRow.captured_at,
                    ).order_by(ImageRow.rel_path)
                ).all()
            index = lib.index()
            by_id = {}
            for ids, vecs in iter_vectors(lib.sessions, lib.model_row.id, lib.model_row.dim):
                by_id.update(zip(ids.tolist(), vecs, strict=True))
            with lib.sessions() as session:
                paths = dict(session.execute(select(ImageRow.id, ImageRow.rel_path)).all())
            vectors = {paths[i]: v for i, v in by_id.items()}
            assert len(index) == len(vectors)
        return summary, rows, vectors

    gpu_summary, gpu_rows, gpu_vectors = catalog("home-gpu", gpu=True)
    cpu_summary, cpu_rows, cpu_vectors = catalog("home-cpu", gpu=False)
    assert gpu_rows == cpu_rows  # statuses, reasons, hashes, sizes, formats, capture times
    assert (gpu_summary.embedded, gpu_summary.failed) == (cpu_summary.embedded, 3)
    assert sorted(f.reason for f in gpu_summary.failures) == sorted(
        f.reason for f in cpu_summary.failures
    )
    assert gpu_vectors.keys() == cpu_vectors.keys()
    for name, v in gpu_vectors.items():
        assert float(v @ cpu_vectors[name]) > 0.99, name  # GPU vs PIL resize: same picture

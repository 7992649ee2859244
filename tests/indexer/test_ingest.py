"""Ingest is incremental and never loses or mixes up a file.

Each test checks the invariant behind search as well: the FAISS index holds exactly the ids
that SQL says are searchable, with SQL's vectors.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select

from tests.support import noise_image, other_vit
from vitrieve.indexer import pipeline, writer
from vitrieve.indexer.catalog import iter_vectors, searchable_ids
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Embedding, EmbeddingModel, Image, ImageStatus


@pytest.fixture
def lib(settings):
    with Library(settings) as library:
        yield library


def assert_index_consistent(lib: Library) -> None:
    """The derived index equals SQL: same ids, same vectors."""
    index = lib.index()
    model = lib.model_row
    with lib.sessions() as session:
        expected = searchable_ids(session, model.id)
    np.testing.assert_array_equal(index.ids(), expected)
    for ids, vectors in iter_vectors(lib.sessions, model.id, model.dim):
        for image_id, hits in zip(ids, index.search(vectors, 10), strict=True):
            exact = {h.id for h in hits if h.score >= 0.9999}  # ties: byte-identical copies
            assert image_id in exact


def status_of(lib: Library, rel_path: str) -> tuple[int, ImageStatus, str | None]:
    with lib.sessions() as session:
        row = session.execute(
            select(Image.id, Image.status, Image.error).where(Image.rel_path == rel_path)
        ).one()
    return row.id, ImageStatus(row.status), row.error


def vector_of(lib: Library, image_id: int) -> bytes:
    with lib.sessions() as session:
        return session.scalar(select(Embedding.vector).where(Embedding.image_id == image_id))


def test_first_ingest_embeds_every_photo(lib, photos):
    summary = ingest(lib, [photos])
    assert (summary.new, summary.embedded, summary.failed) == (6, 6, 0)
    assert len(lib.index()) == 6
    assert_index_consistent(lib)


def test_broken_files_are_failed_with_reasons_and_do_not_stop_the_run(lib, photos):
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.png").write_bytes(b"this is not an image at all")
    good = (photos / "astronaut.jpg").read_bytes()
    (photos / "cut.jpg").write_bytes(good[: len(good) // 3])
    summary = ingest(lib, [photos])
    reasons = {Path(f.path).name: f.reason for f in summary.failures}
    assert set(reasons) == {"empty.jpg", "notes.png", "cut.jpg"}
    assert reasons["empty.jpg"] == "empty file (0 bytes)"
    assert "not an image" in reasons["notes.png"]
    assert "truncated" in reasons["cut.jpg"]
    assert summary.embedded == 6 and summary.failed == 3
    _, status, error = status_of(lib, "cut.jpg")
    assert status == ImageStatus.FAILED and "truncated" in error
    assert_index_consistent(lib)


def test_unchanged_files_are_not_read_again(lib, photos, monkeypatch):
    ingest(lib, [photos])

    def no_reads(*_a, **_k):
        raise AssertionError("an unchanged file was read")

    monkeypatch.setattr(pipeline, "read_file", no_reads)
    summary = ingest(lib, [photos])
    assert (summary.unchanged, summary.new, summary.embedded) == (6, 0, 0)


def test_moved_file_keeps_its_row_and_vector_without_a_forward_pass(lib, photos):
    ingest(lib, [photos])
    image_id, _, _ = status_of(lib, "trip/chelsea.png")
    before = vector_of(lib, image_id)
    (photos / "archive" / "2024").mkdir(parents=True)
    shutil.move(photos / "trip" / "chelsea.png", photos / "archive" / "2024" / "cat.png")
    summary = ingest(lib, [photos])
    assert (summary.moved, summary.new, summary.missing, summary.computed) == (1, 0, 0, 0)
    moved_id, status, _ = status_of(lib, "archive/2024/cat.png")
    assert moved_id == image_id and status == ImageStatus.EMBEDDED
    assert vector_of(lib, image_id) == before
    assert_index_consistent(lib)


def test_changed_file_is_re_embedded(lib, photos):
    ingest(lib, [photos])
    image_id, _, _ = status_of(lib, "astronaut.jpg")
    before = vector_of(lib, image_id)
    noise_image(7).save(photos / "astronaut.jpg", quality=90)
    summary = ingest(lib, [photos])
    assert (summary.changed, summary.embedded, summary.computed) == (1, 1, 1)
    assert vector_of(lib, image_id) != before
    assert_index_consistent(lib)


def test_touched_file_reuses_its_vector(lib, photos):
    ingest(lib, [photos])
    target = photos / "coffee.jpg"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    summary = ingest(lib, [photos])
    assert (summary.changed, summary.embedded, summary.computed) == (1, 1, 0)
    assert_index_consistent(lib)


def test_deleted_file_is_marked_missing_and_leaves_the_index(lib, photos):
    ingest(lib, [photos])
    image_id, _, _ = status_of(lib, "immunohistochemistry.jpg")
    (photos / "immunohistochemistry.jpg").unlink()
    summary = ingest(lib, [photos])
    assert (summary.missing, summary.unchanged) == (1, 5)
    assert status_of(lib, "immunohistochemistry.jpg")[1] == ImageStatus.MISSING
    assert image_id not in lib.index().ids()
    assert_index_consistent(lib)


def test_file_restored_after_deletion_comes_back_without_a_forward_pass(lib, photos, tmp_path):
    ingest(lib, [photos])
    shutil.move(photos / "immunohistochemistry.jpg", tmp_path / "immunohistochemistry.jpg")
    ingest(lib, [photos])
    shutil.move(tmp_path / "immunohistochemistry.jpg", photos / "immunohistochemistry.jpg")
    summary = ingest(lib, [photos])
    assert (
        summary.computed == 0
        and status_of(lib, "immunohistochemistry.jpg")[1] == ImageStatus.EMBEDDED
    )
    assert_index_consistent(lib)


def test_byte_identical_copies_are_embedded_once(lib, photos):
    for i in range(3):
        shutil.copy(photos / "coffee.jpg", photos / f"coffee-copy{i}.jpg")
    summary = ingest(lib, [photos])
    assert summary.embedded == 9 and summary.computed == 6
    ids = [status_of(lib, f"coffee-copy{i}.jpg")[0] for i in range(3)]
    assert len({vector_of(lib, i) for i in ids}) == 1
    assert_index_consistent(lib)


def test_moves_changes_and_deletions_together_give_the_right_counts(lib, photos):
    for i in range(4):
        noise_image(i).save(photos / f"gen{i}.jpg", quality=90)
    first = ingest(lib, [photos])
    assert first.new == 10
    shutil.move(photos / "gen0.jpg", photos / "trip" / "renamed.jpg")  # moved
    noise_image(99).save(photos / "gen1.jpg", quality=90)  # changed
    (photos / "gen2.jpg").unlink()  # missing
    noise_image(50).save(photos / "new.jpg", quality=90)  # new
    summary = ingest(lib, [photos])
    counts = (summary.new, summary.changed, summary.moved, summary.missing, summary.unchanged)
    assert counts == (1, 1, 1, 1, 7)
    assert summary.embedded == 2 and summary.computed == 2
    assert_index_consistent(lib)


def test_interrupted_ingest_resumes_without_duplicates(lib, photos, monkeypatch):
    for i in range(10):
        noise_image(i).save(photos / f"gen{i}.jpg", quality=90)
    real = writer.embed_new_hashes
    calls = {"n": 0}

    def crash_on_third_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated kill")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "embed_new_hashes", crash_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        ingest(lib, [photos])
    with lib.sessions() as session:
        done = session.scalar(select(func.count()).select_from(Embedding))
    assert done == 8  # two committed batches of 4
    monkeypatch.setattr(writer, "embed_new_hashes", real)
    summary = ingest(lib, [photos])
    assert summary.embedded == 8
    with lib.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Embedding)) == 16
    assert_index_consistent(lib)


def test_ingesting_a_subfolder_reuses_the_root_and_leaves_the_rest_alone(lib, photos):
    ingest(lib, [photos])
    (photos / "astronaut.jpg").unlink()  # outside the sub-folder: must not be noticed yet
    noise_image(3).save(photos / "trip" / "extra.jpg", quality=90)
    summary = ingest(lib, [photos / "trip"])
    assert (summary.new, summary.missing, summary.unchanged) == (1, 0, 3)
    assert status_of(lib, "trip/extra.jpg")[1] == ImageStatus.EMBEDDED
    assert status_of(lib, "astronaut.jpg")[1] == ImageStatus.EMBEDDED


def test_data_dir_inside_the_photo_folder_is_not_indexed(tmp_path, photos, settings):
    settings = settings.model_copy(update={"home": photos / ".." / "photos" / "vitrieve-data"})
    with Library(settings) as lib:
        noise_image(1).save(settings.home / "thumb.jpg", quality=90)
        summary = ingest(lib, [photos])
    assert summary.new == 6


def test_changing_the_model_re_embeds_and_never_mixes_vectors(settings, photos, tmp_path):
    with Library(settings) as lib:
        ingest(lib, [photos])
        old_index = lib.index_path
    other = other_vit(tmp_path / "other-vit")
    with Library(settings.model_copy(update={"model": str(other)})) as lib2:
        summary = ingest(lib2, [photos])
        assert summary.embedded == 6 and summary.computed == 6
        assert lib2.index_path != old_index and len(lib2.index()) == 6
        with lib2.sessions() as session:
            assert session.scalar(select(func.count()).select_from(EmbeddingModel)) == 2
            assert session.scalar(select(func.count()).select_from(Embedding)) == 12
        assert_index_consistent(lib2)


def test_corrupt_index_file_is_rebuilt_from_sql(settings, photos):
    with Library(settings) as lib:
        ingest(lib, [photos])
        path = lib.index_path
    path.write_bytes(b"garbage")
    with Library(settings) as lib:
        assert len(lib.index()) == 6
        assert_index_consistent(lib)


def test_a_second_library_sees_an_ingest_without_restarting(settings, photos):
    with Library(settings) as reader, Library(settings) as writer:
        ingest(writer, [photos / "trip"])
        assert len(reader.index()) == 3
        ingest(writer, [photos])
        assert len(reader.index()) == 6


def test_non_directory_path_is_a_clear_error(lib, tmp_path):
    from vitrieve.core.errors import VitrieveError

    with pytest.raises(VitrieveError, match="not a directory"):
        ingest(lib, [tmp_path / "nope"])


def test_ingest_writes_a_256px_webp_thumbnail_per_content(lib, photos, settings):
    from vitrieve.indexer.thumbnails import thumbnail_path

    shutil.copy(photos / "coffee.jpg", photos / "coffee-copy.jpg")
    ingest(lib, [photos])
    with lib.sessions() as session:
        hashes = set(session.scalars(select(Image.content_hash)))
    thumbs = sorted(settings.thumb_dir.rglob("*.webp"))
    assert len(hashes) == 6 and len(thumbs) == 6  # the byte copy shares its original's
    for h in hashes:
        with PILImage.open(thumbnail_path(settings.thumb_dir, h)) as im:
            assert im.format == "WEBP" and max(im.size) == 256


def test_lossless_resave_shares_the_pixel_hash(lib, photos):
    with PILImage.open(photos / "trip" / "chelsea.png") as im:
        im.save(photos / "chelsea-resaved.png", compress_level=1)
        im.save(photos / "chelsea.tiff")
    ingest(lib, [photos])
    with lib.sessions() as session:
        rows = dict(session.execute(select(Image.rel_path, Image.pixel_hash)).all())
        content = dict(session.execute(select(Image.rel_path, Image.content_hash)).all())
    assert rows["trip/chelsea.png"] == rows["chelsea-resaved.png"] == rows["chelsea.tiff"]
    assert content["trip/chelsea.png"] != content["chelsea-resaved.png"]
    assert rows["coffee.jpg"] != rows["trip/chelsea.png"]


def test_many_byte_identical_copies_in_parallel_threads_all_embed(settings, tmp_path):
    """Decode threads meeting on the same content must not trip over one thumbnail file."""
    folder = tmp_path / "copies"
    folder.mkdir()
    noise_image(5).save(folder / "a.jpg", quality=90)
    for i in range(24):
        shutil.copy(folder / "a.jpg", folder / f"copy{i:02d}.jpg")
    with Library(settings.model_copy(update={"decode_workers": 4})) as lib:
        summary = ingest(lib, [folder])
    assert summary.failures == [] and summary.embedded == 25

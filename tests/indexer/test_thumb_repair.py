"""Thumbnails are derived files: deleted or damaged ones are made again from the originals.

Each test ingests real photos, breaks thumbnails the way users do (rm -rf HOME/thumbs, a copy of
HOME cut short, a file overwritten with junk) and checks that what comes back is byte-valid WebP
equal in size and close in pixels to what ingest made.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from tests.support import noise_image
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.indexer.thumb_repair import ensure_thumbnails, iter_sources, repair_thumbnails
from vitrieve.indexer.thumbnails import thumbnail_ok, thumbnail_path
from vitrieve.tables.catalog import Image


@pytest.fixture
def lib(settings, database_url):
    with Library(settings.model_copy(update={"database_url": database_url})) as library:
        yield library


def hashes_and_paths(lib: Library) -> dict[str, Path]:
    from vitrieve.tables.catalog import Root

    with lib.sessions() as session:
        rows = session.execute(select(Image.content_hash, Root.path, Image.rel_path).join(Root))
        return {h: Path(root) / rel for h, root, rel in rows}


def pixels(path: Path) -> np.ndarray:
    with PILImage.open(path) as im:
        assert im.format == "WEBP"
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def snapshot(lib: Library) -> dict[str, np.ndarray]:
    return {h: pixels(thumbnail_path(lib.settings.thumb_dir, h)) for h in hashes_and_paths(lib)}


def assert_like_ingest(lib: Library, made_at_ingest: dict[str, np.ndarray]) -> None:
    for digest, before in made_at_ingest.items():
        after = pixels(thumbnail_path(lib.settings.thumb_dir, digest))
        assert after.shape == before.shape, digest
        assert np.abs(after - before).mean() < 4  # same picture, same size (WebP is lossy)


def test_deleted_truncated_and_junk_thumbnails_are_remade(lib, photos):
    ingest(lib, [photos])
    made = snapshot(lib)
    thumbs = lib.settings.thumb_dir
    digests = sorted(made)
    shutil.rmtree(thumbnail_path(thumbs, digests[0]).parent)  # deleted (with its folder)
    cut = thumbnail_path(thumbs, digests[1])
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])  # a copy cut short
    thumbnail_path(thumbs, digests[2]).write_bytes(b"RIFF\x00\x00\x00\x00WEBPjunk")
    thumbnail_path(thumbs, digests[3]).write_bytes(b"")
    for d in digests[:4]:
        assert not thumbnail_ok(thumbnail_path(thumbs, d))

    report = repair_thumbnails(lib)

    assert (report.contents, report.missing, report.remade, report.failed) == (6, 4, 4, 0)
    assert all(thumbnail_ok(thumbnail_path(thumbs, d)) for d in digests)
    assert_like_ingest(lib, made)
    assert not list(thumbs.rglob("*.tmp"))
    again = repair_thumbnails(lib)
    assert (again.missing, again.remade) == (0, 0)  # idempotent: nothing left to do


def test_a_home_copied_without_thumbs_gets_all_back(lib, photos):
    ingest(lib, [photos])
    made = snapshot(lib)
    shutil.rmtree(lib.settings.thumb_dir)
    progress = []
    report = repair_thumbnails(lib, workers=3, progress=lambda d, t: progress.append((d, t)))
    assert (report.missing, report.remade) == (6, 6)
    assert progress[0] == (0, 6) and progress[-1] == (6, 6)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert_like_ingest(lib, made)


def test_dry_run_counts_and_writes_nothing(lib, photos):
    ingest(lib, [photos])
    shutil.rmtree(lib.settings.thumb_dir)
    report = repair_thumbnails(lib, dry_run=True)
    assert (report.missing, report.remade, report.dry_run) == (6, 0, True)
    assert not lib.settings.thumb_dir.exists() or not list(lib.settings.thumb_dir.rglob("*"))


def test_all_remakes_good_thumbnails_too(lib, photos):
    ingest(lib, [photos])
    before = {p: p.stat().st_mtime_ns for p in lib.settings.thumb_dir.rglob("*.webp")}
    report = repair_thumbnails(lib, everything=True)
    assert (report.missing, report.remade) == (6, 6)
    after = {p: p.stat().st_mtime_ns for p in lib.settings.thumb_dir.rglob("*.webp")}
    assert after.keys() == before.keys() and all(after[p] != before[p] for p in before)


def test_an_original_gone_or_changed_is_reported_and_gets_no_wrong_thumbnail(lib, photos):
    ingest(lib, [photos])
    by_hash = hashes_and_paths(lib)
    coffee = next(h for h, p in by_hash.items() if p.name == "coffee.jpg")
    edited = next(h for h, p in by_hash.items() if p.name == "astronaut.jpg")
    shutil.rmtree(lib.settings.thumb_dir)
    (photos / "coffee.jpg").unlink()
    noise_image(7).save(photos / "astronaut.jpg", quality=90)  # edited since its ingest

    report = repair_thumbnails(lib)

    assert (report.missing, report.remade, report.failed) == (6, 4, 2)
    reasons = {Path(p).name: r for p, r in report.failures}
    assert reasons["coffee.jpg"] == "vanished before it could be read"
    assert reasons["astronaut.jpg"].startswith("changed since it was indexed")
    assert not thumbnail_path(lib.settings.thumb_dir, coffee).exists()
    assert not thumbnail_path(lib.settings.thumb_dir, edited).exists()  # not the new picture


def test_byte_identical_copies_share_one_thumbnail_and_any_copy_will_do(lib, photos):
    shutil.copy(photos / "coffee.jpg", photos / "trip" / "coffee-copy.jpg")
    ingest(lib, [photos])
    sources = {s.content_hash: s.paths for s in iter_sources(lib)}
    coffee = next(h for h, paths in sources.items() if len(paths) == 2)
    assert len(sources) == 6
    shutil.rmtree(lib.settings.thumb_dir)
    sources[coffee][0].unlink()  # the first copy is gone, the second still has the bytes
    report = repair_thumbnails(lib)
    assert (report.contents, report.remade, report.failed) == (6, 6, 0)
    assert thumbnail_ok(thumbnail_path(lib.settings.thumb_dir, coffee))


def test_the_catalog_is_paged_not_loaded(lib, tmp_path, monkeypatch):
    """More contents than one page: every one is visited exactly once across page borders."""
    import vitrieve.indexer.thumb_repair as thumb_repair

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(7):
        noise_image(100 + i, size=(64, 48)).save(folder / f"n{i}.png")
    shutil.copy(folder / "n3.png", folder / "n3-copy.png")
    ingest(lib, [folder])
    monkeypatch.setattr(thumb_repair, "_PAGE", 2)
    sources = list(iter_sources(lib))
    assert len(sources) == 7 and len({s.content_hash for s in sources}) == 7
    assert sorted(len(s.paths) for s in sources) == [1, 1, 1, 1, 1, 1, 2]


def test_ensure_thumbnails_heals_what_a_grid_shows_and_skips_what_cannot_be(lib, photos):
    ingest(lib, [photos])
    made = snapshot(lib)
    by_hash = hashes_and_paths(lib)
    shutil.rmtree(lib.settings.thumb_dir)
    (photos / "trip" / "camera.png").write_bytes(b"not a picture any more")
    pairs = [*by_hash.items(), ("../../etc/passwd", photos / "coffee.jpg")]

    got = ensure_thumbnails(lib.settings.thumb_dir, pairs)

    camera = next(h for h, p in by_hash.items() if p.name == "camera.png")
    assert got[camera] is None
    assert "../../etc/passwd" not in got  # not a content hash: never turned into a path
    for digest, thumb in got.items():
        if digest != camera:
            assert thumb == thumbnail_path(lib.settings.thumb_dir, digest) and thumbnail_ok(thumb)
    assert_like_ingest(lib, {h: v for h, v in made.items() if h != camera})


def test_failures_listed_are_capped_but_all_counted(lib, photos, monkeypatch):
    import vitrieve.indexer.thumb_repair as thumb_repair

    ingest(lib, [photos])
    shutil.rmtree(lib.settings.thumb_dir)
    shutil.rmtree(photos)
    monkeypatch.setattr(thumb_repair, "MAX_LISTED_FAILURES", 2)
    report = repair_thumbnails(lib)
    assert (report.failed, len(report.failures)) == (6, 2)

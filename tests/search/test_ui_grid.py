"""The grid heals its own thumbnails: a deleted or damaged one is made again before drawing."""

from __future__ import annotations

import shutil

from PIL import Image as PILImage
from sqlalchemy import select

from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.indexer.thumbnails import thumbnail_ok, thumbnail_path
from vitrieve.tables.catalog import Image
from vitrieve.ui.views.grid import grid_items


def test_grid_items_remake_missing_and_damaged_thumbnails(settings, photos):
    with Library(settings) as lib:
        ingest(lib, [photos])
        with lib.sessions() as session:
            rows = session.execute(select(Image.id, Image.content_hash).order_by(Image.id)).all()
        ids = [i for i, _ in rows]
        shutil.rmtree(settings.thumb_dir)
        settings.thumb_dir.mkdir()
        first = thumbnail_path(settings.thumb_dir, rows[0][1])
        first.parent.mkdir(parents=True)
        first.write_bytes(b"RIFF\x10\x00\x00\x00WEBPVP8 cut")  # damaged, not missing
        (photos / "trip" / "camera.png").unlink()  # this one cannot come back

        items = grid_items(lib, ids)

    assert [i.image_id for i in items] == ids
    by_name = {i.name: i for i in items}
    assert by_name["camera.png"].thumb is None
    for item in items:
        if item.name != "camera.png":
            assert item.thumb is not None and thumbnail_ok(item.thumb)
            with PILImage.open(item.thumb) as im:
                assert im.format == "WEBP" and max(im.size) == 256

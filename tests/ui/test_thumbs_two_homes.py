"""Workers on other machines keep thumbnails in their own data directory: a UI whose data
directory shares only the catalog (one SQLite file, or one PostgreSQL) still shows every image's
thumbnail, made from the original and kept in its own data directory."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.support import cli_env, run_cli
from vitrieve.indexer.library import Library
from vitrieve.indexer.thumbnails import thumbnail_ok
from vitrieve.ui.views.library import browse, list_roots


def thumbs(home: Path) -> set[str]:
    return {p.name for p in (home / "thumbs").rglob("*.webp")}


def test_a_ui_with_its_own_data_directory_shows_the_thumbnails_of_images_embedded_elsewhere(
    settings, database_url, photos, tmp_path
):
    worker_home, ui_home = tmp_path / "worker-home", tmp_path / "ui-home"
    env = cli_env(worker_home) | {"VITRIEVE_DATABASE_URL": database_url}
    run_cli(env, "ingest", str(photos))  # another process, another data directory
    made_there = thumbs(worker_home)
    assert len(made_there) == 6

    ui = settings.model_copy(update={"home": ui_home, "database_url": database_url})
    with Library(ui) as lib:
        (root,) = list_roots(lib)
        items, total = browse(lib, root.id)

    assert total == len(items) == 6
    for item in items:
        assert item.thumb is not None, item.path
        assert item.thumb.is_relative_to(ui_home / "thumbs"), item.thumb
        assert thumbnail_ok(item.thumb)
        with Image.open(item.thumb) as im:
            assert max(im.size) == 256  # a grid thumbnail, not the original
    assert thumbs(ui_home) == made_there  # the same content hashes, made on this side
    assert thumbs(worker_home) == made_there  # the other data directory is left alone

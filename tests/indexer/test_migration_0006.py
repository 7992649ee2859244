"""Migration 0006 adds the keeper facts to `images` without touching what was there, on SQLite
and PostgreSQL: old rows read as unknown (NULL), and a downgrade takes exactly those columns
away again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from vitrieve.core import migrate
from vitrieve.core.db import make_engine

FACTS = {"camera", "has_gps", "software", "jpeg_quality", "sharpness", "exposure", "blockiness"}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def image_columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("images")}


def add_image(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO roots (path, added_at) VALUES ('/p', '2024-01-01')"))
        conn.execute(
            text(
                "INSERT INTO images (root_id, rel_path, size, mtime_ns, width, height, status,"
                " updated_at) VALUES (1, 'a.jpg', 10, 5, 640, 480, 'embedded', '2024-01-01')"
            )
        )


def test_upgrade_adds_unknown_facts_to_existing_images(engine: Engine) -> None:
    migrate.upgrade(engine, "0005")
    add_image(engine)
    assert image_columns(engine) & FACTS == set()

    migrate.upgrade(engine, "0006")

    assert image_columns(engine) >= FACTS
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM images")).mappings().one()
    assert (row["rel_path"], row["width"], row["height"]) == ("a.jpg", 640, 480)
    assert all(row[name] is None for name in FACTS)


def test_downgrade_drops_only_the_facts(engine: Engine) -> None:
    migrate.upgrade(engine, "0005")
    add_image(engine)
    before = image_columns(engine)
    migrate.upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(text("UPDATE images SET camera = 'Canon EOS R5', sharpness = 12.5"))

    migrate.downgrade(engine, "0005")

    assert image_columns(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT rel_path FROM images")).scalars().all() == ["a.jpg"]
    migrate.upgrade(engine)
    assert migrate.is_current(engine)

"""`vitrieve export`: one row per image as Parquet, CSV or JSON Lines, written batch by batch;
DuckDB and Polars read the Parquet as is, and its vectors are the catalog's, bit for bit."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from tests.support import TINY_VIT, cli_env, invoke_cli, invoke_cli_json, write_photos
from vitrieve.core.config import Settings
from vitrieve.indexer.library import Library
from vitrieve.search.table_export import catalog_batches, export_schema
from vitrieve.search.table_writers import write_stream
from vitrieve.tables.catalog import Embedding
from vitrieve.tables.tagging import Probe, Tag, TagSource

COLUMNS = [
    "id",
    "path",
    "size",
    "width",
    "height",
    "format",
    "captured_at",
    "status",
    "error",
    "tags",
    "dup_group",
    "dup_keeper",
]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> tuple[dict[str, str], Path]:
    """Six real photos, a byte copy of one (a duplicate group) and an empty file (a failure)."""
    base = tmp_path_factory.mktemp("export")
    photos = write_photos(base / "photos")
    shutil.copy(photos / "astronaut.jpg", photos / "astronaut-copy.jpg")
    (photos / "empty.jpg").write_bytes(b"")
    env = cli_env(base / "home")
    invoke_cli(env, "ingest", str(photos))
    return env, base


def stored_vectors(home: Path) -> dict[int, bytes]:
    settings = Settings(home=home, model=str(TINY_VIT), precision="fp32", runtime="torch")
    lib = Library(settings)
    try:
        with lib.sessions() as session:
            rows = session.execute(select(Embedding.image_id, Embedding.vector))
            return {image_id: vector for image_id, vector in rows}
    finally:
        lib.close()


def test_duckdb_and_polars_read_the_parquet_and_vectors_round_trip_bit_exactly(catalog):
    env, base = catalog
    out = base / "catalog.parquet"
    summary = invoke_cli_json(env, "export", "-o", str(out), "--vectors")
    assert summary["rows"] == 8

    assert duckdb.sql(f"SELECT count(*) FROM '{out}'").fetchall() == [(8,)]
    assert duckdb.sql(f"SELECT count(*) FROM '{out}' WHERE status = 'failed'").fetchall() == [(1,)]
    frame = pl.read_parquet(out)
    assert frame.columns == [*COLUMNS, "vector"]
    assert frame.schema["vector"] == pl.Array(pl.Float32, 32)

    stored = stored_vectors(base / "home")
    exported = {
        i: np.asarray(v, dtype=np.float32)
        for i, v in zip(frame["id"], frame["vector"], strict=True)
        if v is not None
    }
    assert set(exported) == set(stored)  # every embedded image, none for the failed one
    for image_id, vector in exported.items():  # float32 holds float16 exactly: both ways
        assert vector.astype(np.float16).tobytes() == stored[image_id]
        expected = np.frombuffer(stored[image_id], np.float16).astype(np.float32)
        assert vector.tobytes() == expected.tobytes()
    duck = duckdb.sql(f"SELECT id, vector FROM '{out}' WHERE vector IS NOT NULL").fetchall()
    for image_id, vector in duck:
        assert np.asarray(vector, np.float32).astype(np.float16).tobytes() == stored[image_id]


def test_the_three_formats_hold_the_same_rows(catalog):
    env, base = catalog
    invoke_cli(env, "export", "-o", str(base / "c.parquet"))
    parquet = pq.read_table(base / "c.parquet").to_pylist()
    lines = invoke_cli(env, "export", "--format", "jsonl").stdout.splitlines()
    jsonl = [json.loads(line) for line in lines]
    rows = list(csv.DictReader(io.StringIO(invoke_cli(env, "export", "--format", "csv").stdout)))

    assert list(parquet[0]) == COLUMNS and list(jsonl[0]) == COLUMNS and list(rows[0]) == COLUMNS
    assert [r["path"] for r in parquet] == [r["path"] for r in jsonl] == [r["path"] for r in rows]
    by_name = {Path(r["path"]).name: r for r in jsonl}
    empty = by_name["empty.jpg"]
    assert (empty["status"], empty["error"]) == ("failed", "empty file (0 bytes)")
    assert (
        by_name["chelsea.png"]["width"]
        == parquet[[r["path"] for r in parquet].index(by_name["chelsea.png"]["path"])]["width"]
        > 0
    )


def test_duplicate_group_and_keeper_come_from_the_finder_or_are_skipped(catalog):
    env, _ = catalog
    lines = invoke_cli(env, "export", "--format", "jsonl").stdout.splitlines()
    by_name = {Path(r["path"]).name: r for r in map(json.loads, lines)}
    pair = [by_name["astronaut.jpg"], by_name["astronaut-copy.jpg"]]
    assert pair[0]["dup_group"] == pair[1]["dup_group"] is not None
    assert sorted(r["dup_keeper"] for r in pair) == [False, True]
    assert pair[0]["dup_group"] == next(r["id"] for r in pair if r["dup_keeper"])

    skipped = invoke_cli(env, "export", "--format", "jsonl", "--no-duplicates").stdout
    assert all(json.loads(r)["dup_group"] is None for r in skipped.splitlines())


def test_each_batch_is_written_before_the_next_is_read(catalog):
    """Bounded memory, structurally: batches of 3 rows, each on disk before the next is made."""
    _, base = catalog
    settings = Settings(home=base / "home", model=str(TINY_VIT), precision="fp32", runtime="torch")
    lib = Library(settings)
    sink = io.BytesIO()
    written_before: list[int] = []

    def watched(batches):
        for batch in batches:
            assert batch.num_rows <= 3
            written_before.append(sink.tell())
            yield batch

    try:
        model = lib.model_row
        batches = catalog_batches(lib.sessions, model.id, model.dim, vectors=True, batch_rows=3)
        result = write_stream(watched(batches), export_schema(model.dim), "parquet", sink)
    finally:
        lib.close()
    assert (result.rows, result.batches) == (8, 3)
    assert written_before == sorted(set(written_before))  # the file grew between batches
    assert pq.ParquetFile(io.BytesIO(sink.getvalue())).num_row_groups == 3


def test_parquet_needs_a_file_and_an_unwritable_one_is_one_line(catalog, tmp_path):
    env, _ = catalog
    assert "-o FILE" in invoke_cli(env, "export", code=2).stderr
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke_cli(env, "export", "-o", str(blocker / "x.parquet"), code=1)
    assert result.stderr.count("\n") == 1 and str(blocker / "x.parquet") in result.stderr


def test_tags_are_the_effective_ones(catalog):
    """Manual tags; probe tags at 0.5 or more, unless a manual tag overrules the probe."""
    _, base = catalog
    settings = Settings(home=base / "home", model=str(TINY_VIT), precision="fp32", runtime="torch")
    lib = Library(settings)
    try:
        with lib.sessions.begin() as session:
            probe = Probe(
                name="animals",
                version=1,
                model_id=lib.model_row.id,
                classes=["cats", "dogs"],
                coef=b"",
                intercept=b"",
                calibration={},
                metrics={},
            )
            session.add(probe)
            session.flush()
            for image_id, label, source, score in [
                (1, "cats", TagSource.PROBE, 0.9),
                (1, "dogs", TagSource.PROBE, 0.2),
                (2, "cats", TagSource.PROBE, 0.9),
                (2, "dogs", TagSource.MANUAL, 1.0),
                (3, "split=test", TagSource.MANUAL, 1.0),
            ]:
                probe_id = probe.id if source == TagSource.PROBE else None
                session.add(
                    Tag(
                        image_id=image_id,
                        label=label,
                        source=source,
                        score=score,
                        probe_id=probe_id,
                    )
                )
        model = lib.model_row
        rows = [
            r for b in catalog_batches(lib.sessions, model.id, model.dim) for r in b.to_pylist()
        ]
    finally:
        lib.close()
    tags = {r["id"]: r["tags"] for r in rows}
    assert (tags[1], tags[2], tags[3], tags[4]) == (["cats"], ["dogs"], ["split=test"], [])

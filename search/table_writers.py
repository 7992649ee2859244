"""Record batches written as Parquet, CSV or JSON Lines, one batch at a time.

Each writer takes an iterator of batches and writes each before asking for the next, so what
sits in memory is one batch whatever the row count (search/table_export.py makes the batches).
Parquet gets one row group per batch and keeps the Arrow types (the vector a fixed-size list of
float32), which DuckDB and Polars read as is. CSV has no lists: tags are joined with ';' and a
vector is a JSON array. A file is written under a temporary name and renamed when complete, so
an interrupted export never leaves a truncated file behind under the asked name.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from vitrieve.core.errors import VitrieveError

ExportFormat = Literal["parquet", "csv", "jsonl"]
FORMATS: tuple[ExportFormat, ...] = ("parquet", "csv", "jsonl")


@dataclass(frozen=True, slots=True)
class WriteResult:
    rows: int
    batches: int  # record batches written (Parquet: row groups)


def write_file(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, fmt: ExportFormat, path: Path
) -> WriteResult:
    """Writes `path` atomically (temporary name, then rename)."""
    path = path.expanduser()
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as sink:
            result = write_stream(batches, schema, fmt, sink)
        os.replace(partial, path)
    except OSError as exc:
        _discard(partial)
        raise VitrieveError(f"{path}: cannot write the export ({exc.strerror or exc})") from None
    except BaseException:
        _discard(partial)
        raise
    return result


def _discard(partial: Path) -> None:
    with contextlib.suppress(OSError):  # its folder may be what could not be written
        partial.unlink(missing_ok=True)


def write_stream(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, fmt: ExportFormat, sink: IO[bytes]
) -> WriteResult:
    rows = count = 0
    if fmt == "parquet":
        with pq.ParquetWriter(sink, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
                rows, count = rows + batch.num_rows, count + 1
    elif fmt == "csv":
        csv_schema = pa.schema([_csv_field(f) for f in schema])
        with pa_csv.CSVWriter(sink, csv_schema) as writer:
            for batch in batches:
                writer.write_batch(_csv_batch(batch, csv_schema))
                rows, count = rows + batch.num_rows, count + 1
    else:
        for batch in batches:
            lines = (json.dumps(row, default=_json_value) + "\n" for row in batch.to_pylist())
            sink.write("".join(lines).encode("utf-8"))
            rows, count = rows + batch.num_rows, count + 1
    return WriteResult(rows, count)


def _csv_field(field: pa.Field) -> pa.Field:
    listed = pa.types.is_list(field.type) or pa.types.is_fixed_size_list(field.type)
    return field.with_type(pa.string()) if listed else field


def _csv_batch(batch: pa.RecordBatch, csv_schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for name in batch.schema.names:
        column = batch.column(name)
        if name == "tags":
            column = pc.binary_join(column, ";")
        elif name == "vector":
            column = pa.array(
                [None if v is None else json.dumps(v) for v in column.to_pylist()], pa.string()
            )
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=csv_schema)


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")

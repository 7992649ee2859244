"""`vitrieve export`: the catalog as Parquet, CSV or JSON Lines, one row per image.

The rows come from search/table_export.py in batches and are written by
search/table_writers.py as they come, so a catalog of millions never sits in memory.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from vitrieve.search.table_writers import ExportFormat
from vitrieve.ui.cli.common import emit_json, err, open_library
from vitrieve.ui.cli.text import count, say


def export(
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="parquet, csv or jsonl.")
    ] = "parquet",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="The file to write (csv and jsonl: stdout when not given)."
        ),
    ] = None,
    vectors: Annotated[
        bool, typer.Option("--vectors", help="Add each image's vector (float32 list).")
    ] = False,
    duplicates: Annotated[
        bool,
        typer.Option(
            "--duplicates/--no-duplicates",
            help="Fill dup_group/dup_keeper from the duplicate finder (skip on huge catalogs).",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Write one row per image: id, path, size, dimensions, format, capture time, status,
    failure reason, tags, duplicate group and keeper (and the vector with --vectors)."""
    from vitrieve.search.table_export import catalog_batches, duplicate_marks, export_schema
    from vitrieve.search.table_writers import write_file, write_stream

    if output is None and fmt == "parquet":
        raise typer.BadParameter("parquet needs a file: add -o FILE")
    lib = open_library()
    model = lib.model_row
    marks = duplicate_marks(lib) if duplicates else {}
    schema = export_schema(model.dim if vectors else None)
    batches = catalog_batches(lib.sessions, model.id, model.dim, vectors=vectors, dups=marks)
    if output is None:
        sys.stdout.flush()
        result = write_stream(batches, schema, fmt, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        result = write_file(batches, schema, fmt, output)
    summary: dict[str, object] = {"rows": result.rows, "batches": result.batches, "format": fmt}
    summary["output"] = None if output is None else str(output)
    if as_json and output is not None:
        emit_json(summary)
        return
    where = "stdout" if output is None else output
    say("exported ", count(result.rows, "image"), " to ", where, f" ({fmt})", console=err)


def register(app: typer.Typer) -> None:
    app.command("export")(export)

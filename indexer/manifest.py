"""Manifests: the list of image files a dataset arrives as, read into paths (and extra columns).

Data teams keep datasets as lists of paths rather than folders: a text file with one path per
line (`find ... -print0` gives NUL-separated ones), or a CSV/Parquet table with a path column and
more (label, split). `vitrieve ingest --from-file` reads them here; indexer/listed.py ingests
the files. Relative paths are relative to the manifest's folder (so a dataset folder can move
with its manifest), or to the current directory for a list read from stdin.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vitrieve.core.errors import VitrieveError

ManifestKind = Literal["lines", "nul", "csv", "parquet"]
STDIN = "-"


class ManifestError(VitrieveError):
    """A manifest that cannot be read as asked: one line naming the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class ListedPath:
    """One manifest entry: an absolute path and the values of the requested extra columns."""

    path: Path
    extras: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Manifest:
    source: str  # the manifest's name as the user gave it ('-' for stdin), for messages
    entries: list[ListedPath]


def manifest_kind(source: str, nul: bool) -> ManifestKind:
    """NUL-separated when asked; a table by the file's extension; otherwise one path a line."""
    if nul:
        return "nul"
    suffix = Path(source).suffix.lower()
    if source != STDIN and suffix == ".csv":
        return "csv"
    if source != STDIN and suffix in (".parquet", ".pq"):
        return "parquet"
    return "lines"


def read_manifest(
    source: str,
    *,
    nul: bool = False,
    path_column: str = "path",
    tag_columns: Sequence[str] = (),
) -> Manifest:
    """Reads `source` (a file name or '-' for stdin) into absolute paths, in manifest order,
    each path once (the first entry wins). Tag columns need a table (CSV or Parquet)."""
    kind = manifest_kind(source, nul)
    base = Path.cwd() if source == STDIN else Path(source).expanduser().absolute().parent
    if tag_columns and kind not in ("csv", "parquet"):
        raise ManifestError(f"{source}: --tag-columns needs a CSV or Parquet manifest")
    rows: list[tuple[str, dict[str, str]]]
    try:
        if kind in ("lines", "nul"):
            text = _read_text(source)
            sep = "\0" if kind == "nul" else "\n"
            rows = [
                (p.removesuffix("\r") if sep == "\n" else p, {})
                for p in text.split(sep)
                if p.strip()
            ]
        elif kind == "csv":
            rows = _csv_rows(source, path_column, tag_columns)
        else:
            rows = _parquet_rows(source, path_column, tag_columns)
    except FileNotFoundError:
        raise ManifestError(f"{source}: no such manifest file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"{source}: cannot read the manifest ({exc})") from None
    seen: dict[Path, ListedPath] = {}
    for raw, extras in rows:
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else base / path
        seen.setdefault(path, ListedPath(path, extras))
    if not seen:
        raise ManifestError(f"{source}: the manifest lists no files")
    return Manifest(source, list(seen.values()))


def _read_text(source: str) -> str:
    """Names are bytes on disk: undecodable ones keep their bytes as surrogates (ARCHITECTURE
    invariant 9), exactly as os.listdir would give them."""
    if source == STDIN:
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    else:
        data = Path(source).expanduser().read_bytes()
    if isinstance(data, str):
        return data
    return data.decode("utf-8", "surrogateescape")


def _pick(source: str, header: Sequence[str], path_column: str, tag_columns: Sequence[str]):
    for name in (path_column, *tag_columns):
        if name not in header:
            raise ManifestError(
                f"{source}: no column {name!r} (columns: {', '.join(header) or 'none'})"
            )


def _csv_rows(source: str, path_column: str, tag_columns: Sequence[str]):
    reader = csv.DictReader(io.StringIO(_read_text(source), newline=""))
    _pick(source, reader.fieldnames or [], path_column, tag_columns)
    rows = []
    for line in reader:
        path = (line.get(path_column) or "").strip()
        if path:
            rows.append((path, _extras(line, tag_columns)))
    return rows


def _parquet_rows(source: str, path_column: str, tag_columns: Sequence[str]):
    import pyarrow.lib
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(Path(source).expanduser())
    except pyarrow.lib.ArrowInvalid as exc:
        raise ManifestError(f"{source}: not a Parquet file ({exc})") from None
    _pick(source, parquet.schema_arrow.names, path_column, tag_columns)
    rows = []
    for batch in parquet.iter_batches(columns=[path_column, *tag_columns]):
        for line in batch.to_pylist():
            path = line.get(path_column)
            if path is not None and str(path).strip():
                rows.append((str(path).strip(), _extras(line, tag_columns)))
    return rows


def _extras(line: dict, tag_columns: Sequence[str]) -> dict[str, str]:
    """Empty cells are no tag (a test image with no label is not labelled "label=")."""
    return {c: str(line[c]).strip() for c in tag_columns if line.get(c) not in (None, "")}

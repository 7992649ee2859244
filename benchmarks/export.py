"""`vitrieve export` at scale: a synthetic catalog of N images (1M by default) written as Parquet
with and without 768-d vectors, each export in its own process so its peak RSS is its own.

    python benchmarks/export.py [--rows 1000000] [--skip-vectors] [--work DIR]

The catalog is built by the migrations and bulk SQL inserts (no photos, no model): one root,
one 768-d model row, N embedded images with float16 vectors, a tag on every tenth image. The
export runs through the same functions as the command (search/table_export.py catalog_batches,
search/table_writers.py write_file), without the duplicate finder (`--no-duplicates`: its
memory is the duplicate benchmark's, benchmarks/dups.py). Prints rows/s, peak RSS and the
file size per export; the last line is one JSON object (README "Benchmarks").
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `vitrieve` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import SEED, emit, log, machine, vm_kib

DIM = 768
_INSERT_CHUNK = 20_000


def build_catalog(db: Path, rows: int, seed: int = SEED) -> None:
    from vitrieve.core import migrate
    from vitrieve.core.db import make_engine

    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    engine.dispose()
    rng = np.random.default_rng(seed)
    con = sqlite3.connect(db)
    now = "2026-01-01 00:00:00.000000"
    con.execute(
        "INSERT INTO roots (id, path, watch, added_at) VALUES (1, '/data/set', 0, ?)", (now,)
    )
    con.execute(
        "INSERT INTO models (id, name, weights_hash, dim, created_at) VALUES (1, 'bench', ?, ?, ?)",
        ("0" * 64, DIM, now),
    )
    for start in range(0, rows, _INSERT_CHUNK):
        ids = range(start + 1, min(start + _INSERT_CHUNK, rows) + 1)
        vectors = rng.standard_normal((len(ids), DIM), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        blobs = vectors.astype(np.float16)
        con.executemany(
            "INSERT INTO images (id, root_id, rel_path, size, mtime_ns, content_hash, width,"
            " height, format, captured_at, status, updated_at)"
            " VALUES (?, 1, ?, ?, 0, ?, 4000, 3000, 'JPEG', '2024-05-01 12:00:00', 'embedded', ?)",
            [(i, f"d{i % 1000:03d}/img{i:08d}.jpg", 2_000_000 + i, f"{i:032x}", now) for i in ids],
        )
        con.executemany(
            "INSERT INTO embeddings (image_id, model_id, content_hash, vector, created_at)"
            " VALUES (?, 1, ?, ?, ?)",
            [(i, f"{i:032x}", blobs[k].tobytes(), now) for k, i in enumerate(ids)],
        )
        con.executemany(
            "INSERT INTO tags (image_id, label, source, score, updated_at)"
            " VALUES (?, 'split=train', 'manual', 1.0, ?)",
            [(i, now) for i in ids if i % 10 == 0],
        )
        con.commit()
        if start % 200_000 == 0:
            log(f"  built {ids[-1]}/{rows}")
    con.close()


def child(db: Path, out: Path, vectors: bool) -> dict:
    from vitrieve.core.db import make_engine, session_factory
    from vitrieve.search.table_export import catalog_batches, export_schema
    from vitrieve.search.table_writers import write_file

    sessions = session_factory(make_engine(f"sqlite:///{db}"))
    start_rss = (vm_kib("VmRSS") or 0) / 1024
    t0 = time.perf_counter()
    batches = catalog_batches(sessions, 1, DIM, vectors=vectors)
    result = write_file(batches, export_schema(DIM if vectors else None), "parquet", out)
    seconds = time.perf_counter() - t0
    return {
        "vectors": vectors,
        "rows": result.rows,
        "row_groups": result.batches,
        "seconds": round(seconds, 1),
        "rows_per_s": round(result.rows / seconds),
        "file_mb": round(out.stat().st_size / 2**20, 1),
        "rss_before_mb": round(start_rss, 1),
        "peak_rss_mb": round((vm_kib("VmHWM") or 0) / 1024, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-vectors", action="store_true", help="only the export without")
    parser.add_argument("--work", type=Path, help="folder for the catalog (default: a temp one)")
    parser.add_argument("--child", choices=["plain", "vectors"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        out = args.db.with_name(f"export-{args.child}.parquet")
        print(json.dumps(child(args.db, out, args.child == "vectors")))
        return
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        db = Path(tmp) / "catalog.db"
        log(f"building a catalog of {args.rows} images")
        t0 = time.perf_counter()
        build_catalog(db, args.rows)
        built = round(time.perf_counter() - t0, 1)
        runs = []
        for kind in ["plain"] + ([] if args.skip_vectors else ["vectors"]):
            log(f"export ({kind})")
            proc = subprocess.run(
                [sys.executable, __file__, "--child", kind, "--db", str(db)],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            log(f"  {runs[-1]}")
    emit({"rows": args.rows, "build_seconds": built, "exports": runs, "machine": machine()})


if __name__ == "__main__":
    main()

"""`vitrieve eval dups` on the make_dup_set copy-detection set: keeper-centred groups against
the connected components vitrieve used before, same edges, same thresholds.

The real ViT-B/16 weights cannot be downloaded where this runs, and the tiny fixture ViT's
similarities mean nothing, so the files, their hashes and the keeper facts (resolution,
format, size) are real, ingested by `vitrieve ingest`, but each image's vector is replaced by a
synthetic 768-d one drawn the way benchmarks/dups.py draws its clustered set: every group (an
original and its 16 copies) around a centre, each copy at a noise level drawn from 0.12-0.5
(cosines to the centre 0.89-0.99, to each other 0.80-0.99, so groups chain), files with the
original's pixels (the original, its PNG) exactly the original's vector; and groups come in
pairs of similar scenes (centres ~0.87 apart: two shots of one beach), so components can chain
across groups. With real weights, ingest the set and run `vitrieve eval dups` twice instead
(`--grouping keeper` and `--grouping components`).

Usage: python -m benchmarks.dup_set_eval [--work DIR] [--thresholds 0.80:0.99:0.01]
Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import SEED, emit, log, machine
from benchmarks.make_dup_set import build_set, write_skimage_originals

ROOT = Path(__file__).resolve().parent.parent
DIM = 768
TINY_VIT = ROOT / "tests" / "fixtures" / "tiny-vit"


def synthetic_vectors(groups: list[str], variants: list[str], seed: int) -> np.ndarray:
    """One unit vector per (group, variant) row, as described in the module doc."""
    rng = np.random.default_rng(seed)
    mean = rng.standard_normal(DIM)
    mean /= np.linalg.norm(mean)
    names = sorted(set(groups))
    centres = {}
    for k, name in enumerate(names):
        if k % 2 and names[k - 1] in centres:  # the second shot of the previous scene
            c = centres[names[k - 1]] + 0.55 * rng.standard_normal(DIM) / np.sqrt(DIM)
        else:
            c = 0.55 * mean + 0.7 * rng.standard_normal(DIM) / np.sqrt(DIM)
        centres[name] = c / np.linalg.norm(c)
    out = np.empty((len(groups), DIM))
    originals: dict[str, np.ndarray] = {}
    for i, (g, v) in enumerate(zip(groups, variants, strict=True)):
        if v in ("original", "png") and g in originals:
            out[i] = originals[g]
            continue
        sigma = 0.0 if v in ("original", "png") else rng.uniform(0.12, 0.5)
        x = centres[g] + sigma * rng.standard_normal(DIM) / np.sqrt(DIM)
        out[i] = x / np.linalg.norm(x)
        if v in ("original", "png"):
            originals[g] = out[i]
    return out


def replace_vectors(db: Path, images: Path, vectors: dict[str, np.ndarray]) -> None:
    """Puts the synthetic vectors in the catalog (SQLite) in place of the tiny ViT's."""
    with sqlite3.connect(db) as con:
        con.execute("UPDATE models SET dim = ?", (DIM,))
        for image_id, rel in con.execute("SELECT id, rel_path FROM images").fetchall():
            v = vectors[(images / rel).as_posix()].astype(np.float16).tobytes()
            con.execute("UPDATE embeddings SET vector = ? WHERE image_id = ?", (v, image_id))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, help="folder for the set and catalog (default: temp)")
    ap.add_argument("--thresholds", default="0.80:0.99:0.01")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)

    from vitrieve.core.config import Settings
    from vitrieve.indexer.ingest import ingest
    from vitrieve.indexer.library import Library
    from vitrieve.search.duplicates.evaluate import evaluate, parse_thresholds

    thresholds = parse_thresholds(args.thresholds)
    with tempfile.TemporaryDirectory(prefix="vitrieve-dupset-") as tmp:
        work = args.work or Path(tmp)
        out = work / "set"
        rows = build_set(write_skimage_originals(work / "originals"), out, seed=args.seed)
        settings = Settings(
            home=work / "home",
            model=str(TINY_VIT),
            precision="fp32",
            runtime="torch",
            decode_workers=1,
        )
        with Library(settings) as lib:
            log(f"ingesting {len(rows)} images")
            ingest(lib, [out / "images"])
        paths = [(out / p).as_posix() for p, _ in rows]
        variants = [Path(p).stem for p, _ in rows]
        vectors = synthetic_vectors([g for _, g in rows], variants, args.seed)
        replace_vectors(
            work / "home" / "catalog.db", out / "images", dict(zip(paths, vectors, strict=True))
        )
        reports = {}
        with Library(settings) as lib:
            for grouping in ("components", "keeper"):
                report = evaluate(lib, out / "truth.csv", thresholds, grouping=grouping)
                reports[grouping] = report.to_dict()
                for r in report.rows:
                    log(f"{grouping:10s} {r.threshold:.2f} P {r.precision:.3f} R {r.recall:.3f}")
    emit({"benchmark": "dup_set_eval", "images": len(rows), **reports, "machine": machine()})


if __name__ == "__main__":
    main()

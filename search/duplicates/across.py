"""Leakage across sets (`vitrieve dups --across TRAIN --across TEST`, `lib.duplicates(across=)`).

A data team's question is rarely "which files are duplicates" but "which test images leak from
the training set". Given folders in order (the first is the reference set), every searchable
image of a later set is compared with the images of all earlier sets only: it leaks when it has
the bytes or decoded pixels of one of them (similarity 1.0) or a vector at least ``threshold``
similar, and it is reported once, with its best match. Pairs inside one set are never looked
at, so a training set full of its own duplicates costs nothing and shows nothing.

The earlier sets' vectors (one per content, from SQL as `vitrieve dups` reads them) sit in an
exact inner-product FAISS index, float32: 3 KB per image. Each later set is searched against it
(k = 1, in chunks) and then joins it. The leaking images become keeper-centred groups (the
earlier image keeps, the copies from later sets go) so `dups quarantine --across` plans, moves
and undoes them with the existing machinery (plan.py, quarantine.py, undo.py).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import faiss
import numpy as np
from sqlalchemy import select

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.catalog import ImageSummary, ShowsImage, describe_images, searchable_ids
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.groups import DupGroup, DupMember, image_facts
from vitrieve.search.duplicates.pairs import ProgressFn
from vitrieve.search.duplicates.vectors import load_vectors
from vitrieve.search.query import check_folder, folder_ids
from vitrieve.tables.catalog import Image
from vitrieve.tables.fsnames import display_path

_CHUNK = 4096  # query vectors per FAISS search (12 MB at d=768)
_ID_CHUNK = 500  # ids per IN (...)
CSV_COLUMNS = (
    "set",
    "image_id",
    "path",
    "similarity",
    "match",
    "match_set",
    "match_id",
    "match_path",
)


@dataclass(frozen=True, slots=True)
class Leak(ShowsImage):
    """An image of a later set that duplicates one of an earlier set."""

    image: ImageSummary  # the later set's image
    set_index: int  # its set, 0 being the first folder given
    match: ImageSummary  # its best match among the earlier sets
    match_set: int
    similarity: float  # cosine of the stored vectors; 1.0 for identical bytes or pixels
    kind: str  # "bytes", "pixels" or "near"

    def to_dict(self) -> dict:
        return {
            "set": self.set_index,
            "image_id": self.image_id,
            "path": self.path,
            "similarity": self.similarity,
            "match": self.kind,
            "match_set": self.match_set,
            "match_id": self.match.image_id,
            "match_path": self.match.path,
        }


@dataclass
class LeakReport:
    sets: list[str]  # the folders, resolved, in the order given
    images: list[int]  # searchable images per set
    threshold: float | None  # None: exact copies only
    leaks: list[Leak] = field(default_factory=list)
    seconds: float = 0.0
    why: str = ""  # where the threshold came from (search/duplicates/threshold.py)

    def to_dict(self) -> dict:
        return {
            "sets": self.sets,
            "images": self.images,
            "threshold": self.threshold,
            "threshold_why": self.why,
            "seconds": self.seconds,
            "leaks": [leak.to_dict() for leak in self.leaks],
        }


def find_leaks(
    lib: Library,
    folders: Sequence[Path],
    *,
    threshold: float | None,
    progress: ProgressFn | None = None,
) -> LeakReport:
    """Every image of a later folder that duplicates an image of an earlier one (module doc);
    ``threshold`` None looks for identical bytes and pixels only."""
    started = time.perf_counter()
    if len(folders) < 2:
        raise VitrieveError(
            "--across needs two or more folders: the reference set first (train), then the "
            "sets checked against it (test)"
        )
    resolved = [_checked(lib, f) for f in folders]
    members = [_set_ids(lib, f) for f in resolved]
    _check_disjoint(resolved, members)
    owner = {int(i): s for s, ids in enumerate(members) for i in ids}
    best = _exact_matches(lib, members)
    if threshold is not None:
        _near_matches(lib, members, threshold, best, progress)
    leaks = _described(lib, best, owner)
    return LeakReport(
        sets=[str(f) for f in resolved],
        images=[len(ids) for ids in members],
        threshold=threshold,
        leaks=leaks,
        seconds=round(time.perf_counter() - started, 3),
    )


def _checked(lib: Library, folder: Path) -> Path:
    checked = check_folder(lib, folder)
    assert checked is not None  # a folder was given
    if not checked.is_dir():
        raise VitrieveError(f"--across {folder}: no such folder")
    return checked


def _set_ids(lib: Library, folder: Path) -> np.ndarray:
    ids = folder_ids(lib, folder)
    if ids is None:  # the folder holds every root
        with lib.sessions() as session:
            return searchable_ids(session, lib.model_row.id)
    return ids


def _check_disjoint(folders: list[Path], members: list[np.ndarray]) -> None:
    for a in range(len(folders)):
        for b in range(a + 1, len(folders)):
            shared = np.intersect1d(members[a], members[b])
            if len(shared):
                raise VitrieveError(
                    f"--across {folders[a]} and {folders[b]}: the sets share "
                    f"{len(shared)} images (one folder is inside the other); give disjoint "
                    "folders"
                )


def _exact_matches(lib: Library, members: list[np.ndarray]) -> dict[int, tuple[int, float, str]]:
    """Later image id -> (earlier image id, 1.0, "bytes" | "pixels")."""
    seen_bytes: dict[str, int] = {}
    seen_pixels: dict[str, int] = {}
    best: dict[int, tuple[int, float, str]] = {}
    for s, ids in enumerate(members):
        rows = _hashes(lib, ids)
        for image_id, content, pixels in rows if s else ():
            if content and content in seen_bytes:
                best[image_id] = (seen_bytes[content], 1.0, "bytes")
            elif pixels and pixels in seen_pixels:
                best[image_id] = (seen_pixels[pixels], 1.0, "pixels")
        for image_id, content, pixels in rows:  # joins the earlier sets after being checked
            if content:
                seen_bytes.setdefault(content, image_id)
            if pixels:
                seen_pixels.setdefault(pixels, image_id)
    return best


def _hashes(lib: Library, ids: np.ndarray) -> list[tuple[int, str | None, str | None]]:
    wanted = ids.tolist()
    out: list[tuple[int, str | None, str | None]] = []
    with lib.sessions() as session:
        for i in range(0, len(wanted), _ID_CHUNK):
            rows = session.execute(
                select(Image.id, Image.content_hash, Image.pixel_hash).where(
                    Image.id.in_(wanted[i : i + _ID_CHUNK])
                )
            )
            out += [(r[0], r[1], r[2]) for r in rows]
    return sorted(out)


def _near_matches(
    lib: Library,
    members: list[np.ndarray],
    threshold: float,
    best: dict[int, tuple[int, float, str]],
    progress: ProgressFn | None,
) -> None:
    """Adds (earlier id, cosine, "near") for later images with no exact match."""
    model = lib.model_row
    index = faiss.IndexFlatIP(model.dim)
    index_ids: list[np.ndarray] = []
    total, done = sum(len(ids) for ids in members[1:]), 0
    for s, ids in enumerate(members):
        vectors = load_vectors(lib.sessions, model.id, model.dim, only_ids=ids)
        rows = np.arange(len(vectors.vectors))
        if s and index.ntotal:
            known = np.concatenate(index_ids)
            sims = np.empty(len(rows), np.float32)
            hits = np.empty(len(rows), np.int64)
            for i in range(0, len(rows), _CHUNK):
                d, h = index.search(vectors.unit(rows[i : i + _CHUNK]), 1)
                sims[i : i + _CHUNK], hits[i : i + _CHUNK] = d[:, 0], h[:, 0]
            for image_id, row in zip(vectors.ids.tolist(), vectors.rep.tolist(), strict=True):
                sim = float(min(sims[row], 1.0))
                if image_id not in best and hits[row] >= 0 and sim >= threshold:
                    best[image_id] = (int(known[hits[row]]), round(sim, 6), "near")
            done += len(ids)
            if progress:
                progress("matching", done, total)
        for i in range(0, len(rows), _CHUNK):  # joins the earlier sets after being checked
            index.add(vectors.unit(rows[i : i + _CHUNK]))
        index_ids.append(vectors.rep_ids)


def _described(
    lib: Library, best: dict[int, tuple[int, float, str]], owner: dict[int, int]
) -> list[Leak]:
    ids = set(best) | {m for m, _, _ in best.values()}
    with lib.sessions() as session:
        images = describe_images(session, ids)
    leaks = [
        Leak(images[i], owner[i], images[m], owner[m], sim, kind)
        for i, (m, sim, kind) in best.items()
        if i in images and m in images  # a row deleted meanwhile is simply left out
    ]
    return sorted(leaks, key=lambda leak: (leak.set_index, leak.image_id))


def leak_groups(lib: Library, report: LeakReport) -> list[DupGroup]:
    """The leaks as duplicate groups for a quarantine plan: each earlier image keeps, the later
    images that copy it go (plan.py re-checks every near move against the threshold)."""
    by_match: dict[int, list[Leak]] = {}
    for leak in report.leaks:
        by_match.setdefault(leak.match.image_id, []).append(leak)
    with lib.sessions() as session:
        facts = image_facts(session, {i for m, ls in by_match.items() for i in [m, *_ids(ls)]})
    groups = []
    for match_id, leaks in sorted(by_match.items()):
        keeper = facts.get(match_id)
        copies = [(leak, facts[leak.image_id]) for leak in leaks if leak.image_id in facts]
        if keeper is None or not copies:
            continue
        where = display_path(report.sets[leaks[0].match_set])
        groups.append(
            DupGroup(
                group=match_id,
                exact=all(leak.kind != "near" for leak, _ in copies),
                members=(
                    DupMember(keeper.image, 1.0, True, "keeper", keeper.photo),
                    *(
                        DupMember(f.image, leak.similarity, False, leak.kind, f.photo)
                        for leak, f in copies
                    ),
                ),
                keeper_reason=f"in the earlier set {where}",
            )
        )
    return groups


def _ids(leaks: list[Leak]) -> list[int]:
    return [leak.image_id for leak in leaks]


def write_leaks_csv(report: LeakReport, out: TextIO) -> int:
    """One row per leaking image (CSV_COLUMNS); returns the rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for leak in report.leaks:
        writer.writerow(
            [
                leak.set_index,
                leak.image_id,
                display_path(leak.path),
                f"{leak.similarity:.6f}",
                leak.kind,
                leak.match_set,
                leak.match.image_id,
                display_path(leak.match.path),
            ]
        )
    return len(report.leaks)


def save_leaks_csv(report: LeakReport, path: Path) -> int:
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        return write_leaks_csv(report, f)


def save_leaks_parquet(report: LeakReport, path: Path) -> int:
    """The CSV's rows as Parquet (typed: ids int64, similarity float64), written atomically by
    the export's writer (search/table_writers.py) so pandas, DuckDB and Polars read it as is."""
    import pyarrow as pa

    from vitrieve.search.table_writers import write_file

    schema = pa.schema(
        [
            ("set", pa.int32()),
            ("image_id", pa.int64()),
            ("path", pa.string()),
            ("similarity", pa.float64()),
            ("match", pa.string()),
            ("match_set", pa.int32()),
            ("match_id", pa.int64()),
            ("match_path", pa.string()),
        ]
    )
    rows = [leak.to_dict() for leak in report.leaks]
    for row in rows:
        row["path"], row["match_path"] = display_path(row["path"]), display_path(row["match_path"])
    table = pa.Table.from_pylist(rows, schema=schema)
    return write_file(table.to_batches(), schema, "parquet", path).rows

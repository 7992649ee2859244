"""Proof, just before a move, that the files on disk are still the ones the plan was made from.

The catalog's size and modification time are not proof: a file rewritten in place with both
kept (rsync -t, touch -r, a restore from backup) looks unchanged. So each copy is read again and
its content hash (xxh3-128, as the catalog stores it) compared with the hash it was grouped by:
the catalog's for exact and pixel copies, the one its vector was computed from for near copies.
The group's keeper is checked the same way, once per group: a copy only leaves while the picture
it duplicates is on disk, readable and still the bytes the catalog holds, so a keeper deleted or
replaced outside vitrieve never takes its copies with it.

Files are read through the indexer's bounded reader (indexer/reader.py), so a FIFO, a link or a
huge file found where a photo was is one reason, never a hang or an unbounded read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from vitrieve.indexer.reader import ReadError, content_hash, read_file
from vitrieve.search.duplicates.moves import exists
from vitrieve.tables.catalog import Embedding, Image, ImageStatus, Root

CHANGED_ON_DISK = "changed on disk since indexing"


@dataclass(frozen=True, slots=True)
class OnRecord:
    """What the catalog holds about one image when the move is applied."""

    path: Path
    present: bool  # not `missing` (quarantined, or gone at the last ingest)
    content_hash: str | None  # of the file bytes, when last read
    embedded_hash: str | None  # the content hash the current model's vector was computed from

    def hash_for(self, reason: str) -> str | None:
        """The hash a copy was grouped by: its vector's for a near copy, else its bytes'."""
        if reason == "near" and self.embedded_hash:
            return self.embedded_hash
        return self.content_hash


def on_record(lib, ids: Iterable[int], model_id: int | None) -> dict[int, OnRecord]:
    """The catalog's facts for `ids`; an id not in the catalog is left out."""
    wanted, found = sorted(set(ids)), {}
    with lib.sessions() as session:
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            embedded = {}
            if model_id is not None:
                embedded = dict(
                    session.execute(
                        select(Embedding.image_id, Embedding.content_hash).where(
                            Embedding.model_id == model_id, Embedding.image_id.in_(chunk)
                        )
                    ).all()
                )
            rows = session.execute(
                select(Image.id, Root.path, Image.rel_path, Image.status, Image.content_hash)
                .join(Root, Root.id == Image.root_id)
                .where(Image.id.in_(chunk))
            )
            for image_id, root, rel, status, digest in rows:
                found[image_id] = OnRecord(
                    Path(root) / rel,
                    ImageStatus(status) != ImageStatus.MISSING,
                    digest,
                    embedded.get(image_id),
                )
    return found


def differs(path: Path, expected: str | None, max_size: int) -> str | None:
    """None when the file at `path` holds the bytes hashed to `expected`, else why not:
    "is missing", "is unreadable (...)" or "changed on disk since indexing"."""
    if not exists(path):
        return "is missing"
    if expected is None:
        return "was never read by vitrieve (no content hash in the catalog)"
    try:
        data = read_file(path, max_size=max_size)
    except ReadError as exc:
        if not exists(path):
            return "is missing"
        return f"is unreadable ({exc.reason})"
    if content_hash(data) != expected:
        return CHANGED_ON_DISK
    return None


def verified_keeper(
    keepers: Iterable[int], records: dict[int, OnRecord], max_size: int
) -> tuple[int | None, str | None]:
    """(the first keeper still in place with the bytes the catalog holds, None), or
    (None, why the group's copies must stay) when there is none."""
    why = None
    for k in keepers:
        rec = records.get(k)
        if rec is None or not rec.present:
            continue
        problem = differs(rec.path, rec.content_hash, max_size)
        if problem is None:
            return k, None
        why = why or (
            f"not moved: its keeper {rec.path} {problem}; re-ingest its folder and plan again"
        )
    return None, why or "not moved: the copy its group keeps is gone since planning; plan again"

"""A quarantined copy's catalog metadata passes to its keeper, and undo takes it back.

A copy may carry what its keeper lacks: a capture time (a re-encode that kept EXIF while the
PNG keeper did not) or a user's manual tags. Quarantine must not lose them from search, so in
the transaction that records the move the keeper is given the copy's capture time (when it has
none) and every manual tag it lacks. What was given is written on the move's row
(QuarantineMove.inherited), and undoing the move takes back exactly that, and only while the
keeper still has what it was given (a capture time the user or a re-ingest changed stays).

Camera and GPS live in the file's EXIF, which vitrieve never rewrites: the plan reports them
(plan.metadata_keeper_lacks) and the copy keeps them in quarantine.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vitrieve.tables.catalog import Image, utcnow
from vitrieve.tables.tagging import Tag, TagSource


def manual_tags(session: Session, image_ids: list[int]) -> dict[int, dict[str, float]]:
    """image id -> {label: score} of its manual tags."""
    found: dict[int, dict[str, float]] = {}
    for i in range(0, len(image_ids), 500):
        for image_id, label, score in session.execute(
            select(Tag.image_id, Tag.label, Tag.score).where(
                Tag.image_id.in_(image_ids[i : i + 500]), Tag.source == TagSource.MANUAL
            )
        ):
            found.setdefault(image_id, {})[label] = score
    return found


def inherit_metadata(session: Session, copy_id: int, keeper_id: int) -> dict:
    """Gives the keeper what the copy has and it lacks; returns the record for undo."""
    record: dict = {"keeper": keeper_id}
    copy, keeper = session.get(Image, copy_id), session.get(Image, keeper_id)
    if copy is None or keeper is None:
        return record
    if keeper.captured_at is None and copy.captured_at is not None:
        keeper.captured_at = copy.captured_at
        record["captured_at"] = copy.captured_at.isoformat()
    tags = manual_tags(session, [copy_id, keeper_id])
    theirs, mine = tags.get(copy_id, {}), tags.get(keeper_id, {})
    given = sorted(set(theirs) - set(mine))
    if given:
        now = utcnow()
        session.execute(
            Tag.__table__.insert(),
            [
                {
                    "image_id": keeper_id,
                    "label": label,
                    "source": TagSource.MANUAL,
                    "score": theirs[label],
                    "probe_id": None,
                    "probe_version": None,
                    "updated_at": now,
                }
                for label in given
            ],
        )
        record["tags"] = given
    session.flush()
    return record


def take_back(session: Session, record: dict | None) -> None:
    """Undoes `inherit_metadata` for one move (its record), keeping later changes."""
    if not record or "keeper" not in record:
        return
    keeper = session.get(Image, int(record["keeper"]))
    if keeper is None:
        return
    given = record.get("captured_at")
    if given is not None and keeper.captured_at and keeper.captured_at.isoformat() == given:
        keeper.captured_at = None
    if record.get("tags"):
        session.execute(
            delete(Tag).where(
                Tag.image_id == keeper.id,
                Tag.source == TagSource.MANUAL,
                Tag.label.in_(list(record["tags"])),
            )
        )

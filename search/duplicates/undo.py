"""Undo of a quarantine batch: every file back at its path, searchable again at once.

Each file's return is recorded in one transaction with its image row (embedded again when the
file is unchanged and its vector is from the current model), so an undo killed at any moment
and run again leaves no restored image `missing`: the rerun finishes half-done moves (a hard
link left at both names), picks up the rest, and repairs rows an older version left behind.
Runs under the quarantine lock (search/duplicates/quarantine.py), like quarantine itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.inherit import take_back
from vitrieve.search.duplicates.moves import exists, move_file, same_file
from vitrieve.search.duplicates.quarantine import (
    MoveReport,
    as_move,
    current_model_id,
    open_index,
    quarantine_lock,
    settle_planned,
    sync_index,
)
from vitrieve.tables.catalog import Embedding, Image, ImageStatus, Root
from vitrieve.tables.duplicates import MoveState, QuarantineMove


def undo_quarantine(lib: Library, batch: str | None = None) -> MoveReport:
    """Puts back every file of a quarantine batch (default: the latest one still moved)."""
    with quarantine_lock(lib):
        settle_planned(lib)
        batch, rows = _undo_rows(lib, batch)
        index = open_index(lib)
        model_id = current_model_id(lib)
        report, restored = MoveReport(batch=batch), []
        with lib.sessions() as session:
            roots = [Path(p) for p in session.scalars(select(Root.path))]
        for row in rows:
            src, dst = Path(row.src_path), Path(row.dst_path)
            if row.state == MoveState.RESTORED:  # file put back by an undo killed before its
                if exists(src):  # image row followed (older versions recorded them apart)
                    restored += _mark_restored(lib, row, model_id)
                continue
            if exists(src) and exists(dst) and same_file(src, dst):
                try:
                    dst.unlink()  # an undo stopped between the two steps of a move: finish it
                except OSError as exc:  # the quarantine is read-only now: take the step back
                    src.unlink()
                    report.problems.append((str(dst), f"not restored: {exc.strerror or exc}"))
                    continue
            if not exists(dst):
                if exists(src):  # put back by hand, or by an undo that stopped before recording
                    restored += _mark_restored(lib, row, model_id)
                    report.done.append(as_move(row))
                else:
                    report.problems.append((str(dst), "not found in quarantine nor at its origin"))
                continue
            if exists(src):
                report.problems.append((str(dst), f"left in quarantine: {src} exists again"))
                continue
            try:
                move_file(dst, src)
            except OSError as exc:
                report.problems.append((str(dst), f"not restored: {exc.strerror or exc}"))
                continue
            restored += _mark_restored(lib, row, model_id)
            report.done.append(as_move(row))
            remove_emptied_folders(src, dst, roots)
        sync_index(lib, index, restored=restored)
    return report


def remove_emptied_folders(src: Path, dst: Path, roots: list[Path]) -> None:
    """The quarantine's folders above ``dst`` that the move into it made (the root's label and
    the mirrored sub-folders: ``DEST/label/sub/dirs``), removed deepest first while empty; the
    destination folder itself, a folder holding anything, and any folder outside that mirror
    stay. So an undone batch leaves no empty tree behind."""
    under = [r for r in roots if r in src.parents]
    if not under:
        return  # its root was removed since: how deep the mirror went is unknown
    depth = len(src.relative_to(max(under, key=lambda r: len(r.parts))).parts)
    for folder in dst.parents[:depth]:  # sub-folders first, the label folder last
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (another file of this or another batch), or already gone


def _undo_rows(lib: Library, batch: str | None) -> tuple[str, list[QuarantineMove]]:
    """The batch's rows still to undo: moved ones, and restored ones whose image row is still
    missing (an older undo killed midway); newest first."""
    todo = or_(
        QuarantineMove.state == MoveState.MOVED,
        and_(QuarantineMove.state == MoveState.RESTORED, Image.status == ImageStatus.MISSING),
    )
    with lib.sessions() as session:
        if batch is None:
            batch = session.scalar(
                select(QuarantineMove.batch)
                .outerjoin(Image, Image.id == QuarantineMove.image_id)
                .where(todo)
                .order_by(QuarantineMove.id.desc())
                .limit(1)
            )
            if batch is None:
                raise VitrieveError("nothing to undo: no file is in quarantine")
        rows = session.scalars(
            select(QuarantineMove)
            .outerjoin(Image, Image.id == QuarantineMove.image_id)
            .where(QuarantineMove.batch == batch, todo)
            .order_by(QuarantineMove.id.desc())
        ).all()
    if not rows:
        raise VitrieveError(f"nothing to undo in batch {batch!r}")
    return batch, list(rows)


def _mark_restored(lib: Library, row: QuarantineMove, model_id: int | None) -> list[int]:
    """Records the file as restored and its image row as back, in one transaction; returns
    [image id] if the row is searchable again at once."""
    with lib.sessions.begin() as session:
        session.execute(
            update(QuarantineMove)
            .where(QuarantineMove.id == row.id)
            .values(state=MoveState.RESTORED, error=None, updated_at=datetime.now(UTC))
        )
        take_back(session, row.inherited)
        if row.image_id is None:
            return []
        back = _restore_image(session, row.image_id, Path(row.src_path), model_id)
    return [row.image_id] if back else []


def _restore_image(session: Session, image_id: int, src: Path, model_id: int | None) -> bool:
    """The row of a file back at its path becomes searchable again (its vector still matches);
    True if now embedded. Anything unsure goes to pending for the next ingest."""
    row = session.execute(select(Image, Root.path).join(Root).where(Image.id == image_id)).first()
    if row is None or row[0].status != ImageStatus.MISSING:
        return False
    image, root = row
    if Path(root) / image.rel_path != src:
        return False  # the row followed another copy meanwhile; the next ingest adds this one
    st = src.stat()
    same = (st.st_size, st.st_mtime_ns) == (image.size, image.mtime_ns)
    has_vector = model_id is not None and session.scalar(
        select(func.count())
        .select_from(Embedding)
        .where(
            Embedding.image_id == image.id,
            Embedding.model_id == model_id,
            Embedding.content_hash == image.content_hash,
        )
    )
    image.status = ImageStatus.EMBEDDED if same and has_vector else ImageStatus.PENDING
    return image.status == ImageStatus.EMBEDDED

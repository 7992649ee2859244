"""Quarantine: move the non-keepers of duplicate groups to a folder, and undo it.

What moves is decided by a plan (search/duplicates/plan.py); this module carries it out.

Nothing is ever deleted. Every move is written to SQL twice: a `planned` row committed before
the file is touched, then `moved` (or `failed`) after. A crash in between leaves a planned row
that the next dups command settles by looking at the disk (`reconcile_moves`), so no file is
ever lost track of and `undo` can always put everything back. A file is never moved onto an
existing one, in either direction.

Before a copy moves, the disk is checked, not only the catalog (search/duplicates/verify.py):
the copy must still hold the bytes it was grouped by, and its group's keeper must be on disk,
readable and still the bytes the catalog holds; otherwise the copy (or the whole group) stays
in place with the reason. A move that cannot finish (a read-only origin, a full destination)
leaves nothing in the quarantine (search/duplicates/moves.py) and is counted in `not_moved`.

A quarantined image is marked `missing` and leaves the vector index at once; undo puts the
file back at the same path with its modification time, so the row becomes searchable again
with the vector it had, in the same transaction that records the file as restored: an undo
killed midway and run again leaves every restored image searchable.

Moving runs under the catalog's `quarantine` lock (vitrieve/core/locks.py), so two quarantines (or
undos) at once take turns: the second finds what the first moved already gone and skips it,
and never mistakes the first's in-flight `planned` rows for a crash's.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import func, select, update

from vitrieve.core.errors import VitrieveError
from vitrieve.core.locks import CatalogLock, catalog_lock
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.inherit import inherit_metadata
from vitrieve.search.duplicates.moves import exists, move_file, same_file
from vitrieve.search.duplicates.plan import Plan, PlannedMove, free_name, plan_quarantine
from vitrieve.search.duplicates.reference import ReferenceFolders
from vitrieve.search.duplicates.verify import (
    CHANGED_ON_DISK,
    OnRecord,
    differs,
    on_record,
    verified_keeper,
)
from vitrieve.search.duplicates.writable import cannot_remove_from
from vitrieve.tables.catalog import Image, ImageStatus
from vitrieve.tables.duplicates import MoveState, QuarantineMove

__all__ = ["MoveReport", "Plan", "PlannedMove", "apply_quarantine", "plan_quarantine"]

log = logging.getLogger(__name__)

QUARANTINE_LOCK = "quarantine"
ALREADY_GONE = "not moved: already quarantined or gone"
CHANGED = "not moved: changed since it was indexed"


@dataclass
class MoveReport:
    batch: str | None = None
    done: list[PlannedMove] = field(default_factory=list)  # moved (or restored, for undo)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    # Files of the plan left in place that were not already moved: refused as unsafe (changed,
    # keeper gone) or a move that could not finish. Non-zero makes `dups quarantine` fail.
    not_moved: int = 0

    def to_dict(self) -> dict:
        return {
            "batch": self.batch,
            "done": [m.to_dict() for m in self.done],
            "problems": [{"path": p, "reason": r} for p, r in self.problems],
            "not_moved": self.not_moved,
        }


# -- moving -------------------------------------------------------------------------------------


def quarantine_lock(lib: Library):
    """Held while files move to or from quarantine (see the module doc)."""

    def waiting() -> None:
        log.warning("another vitrieve process is moving duplicates; waiting for it")

    return catalog_lock(lib.engine, QUARANTINE_LOCK, on_wait=waiting)


def apply_quarantine(lib: Library, plan: Plan | Iterable[PlannedMove]) -> MoveReport:
    """Moves the planned files, recording each move before and after it happens.

    A plan may be stale (made before another quarantine ran): a file already quarantined, or
    whose group's keepers are all gone meanwhile, is left alone and reported.
    """
    moves = list(plan)
    with quarantine_lock(lib):
        settle_planned(lib)
        if not moves:
            return MoveReport()
        return _apply_locked(lib, moves)


def _apply_locked(lib: Library, plan: list[PlannedMove]) -> MoveReport:
    index = open_index(lib)
    report = MoveReport(batch=datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8])
    ids = {i for m in plan for i in (m.image_id, *m.keepers)}
    records = on_record(lib, ids, current_model_id(lib))
    present = {i for i, r in records.items() if r.present}
    max_size = lib.settings.max_file_size
    with lib.sessions() as session:  # a folder marked since the plan was made still counts
        references = ReferenceFolders.load(session)
    keepers: dict[tuple[int, ...], tuple[int | None, str | None]] = {}  # checked once a group
    for move in plan:
        if move.image_id not in present:
            report.problems.append((str(move.src), ALREADY_GONE))
            continue
        folder = references.folder_of_path(move.src)
        why = folder and f"not moved: in the reference folder {folder} (always kept)"
        why = why or _why_not(move)
        heir = None
        if why is None and move.keepers:
            if move.keepers not in keepers:
                keepers[move.keepers] = verified_keeper(move.keepers, records, max_size)
            heir, why = keepers[move.keepers]
        if why is None:
            why = _why_not_bytes(move, records[move.image_id], max_size)
        if why is not None:
            report.problems.append((str(move.src), why))
            report.not_moved += 1
            continue
        dst = free_name(move.dst, set())
        with lib.sessions.begin() as session:
            row = QuarantineMove(
                batch=report.batch,
                image_id=move.image_id,
                src_path=str(move.src),
                dst_path=str(dst),
                state=MoveState.PLANNED,
                # who inherits the copy's metadata, also when a crash leaves the move to settle
                inherited=None if heir is None else {"keeper": heir},
            )
            session.add(row)
            session.flush()
            row_id = row.id
        try:
            move_file(move.src, dst)  # a move that cannot finish leaves nothing at dst
        except OSError as exc:
            _set_state(lib, row_id, MoveState.FAILED, f"{exc.strerror or exc}")
            report.problems.append((str(move.src), f"not moved: {exc.strerror or exc}"))
            report.not_moved += 1
            continue
        _set_state(lib, row_id, MoveState.MOVED, None, image_id=move.image_id)
        report.done.append(replace(move, dst=dst))
    sync_index(lib, index, removed=[m.image_id for m in report.done])
    return report


def _why_not(move: PlannedMove) -> str | None:
    """The cheap checks, before any file is read: there, same size and time, folder writable."""
    try:
        st = move.src.stat()
    except OSError as exc:
        return f"not moved: {exc.strerror or exc}"
    if (st.st_size, st.st_mtime_ns) != (move.size, move.mtime_ns):
        return CHANGED
    blocked = cannot_remove_from(move.src.parent)
    if blocked is not None:
        return f"not moved: its folder {move.src.parent}: {blocked}"
    return None


def _why_not_bytes(move: PlannedMove, record: OnRecord, max_size: int) -> str | None:
    """The copy still holds the bytes it was grouped by (see search/duplicates/verify.py)."""
    problem = differs(move.src, record.hash_for(move.reason), max_size)
    if problem is None:
        return None
    if problem == CHANGED_ON_DISK:
        return CHANGED
    return f"not moved: {problem.removeprefix('is ')}"


def reconcile_moves(lib: Library) -> list[str]:
    """Settles moves a crash left `planned`, by where the file is now; returns what it did.

    Skipped while another process holds the quarantine lock: its planned rows are moves in
    flight, not a crash's leftovers, and it settles any left by a crash itself.
    """
    lock = CatalogLock(lib.engine, QUARANTINE_LOCK)
    if not lock.acquire(blocking=False):
        return []
    try:
        return settle_planned(lib)
    finally:
        lock.release()


def settle_planned(lib: Library) -> list[str]:
    """`reconcile_moves` for a caller that holds the quarantine lock."""
    with lib.sessions() as session:
        rows = session.scalars(
            select(QuarantineMove).where(QuarantineMove.state == MoveState.PLANNED)
        ).all()
    notes = []
    for row in rows:
        src, dst = Path(row.src_path), Path(row.dst_path)
        at_src, at_dst = exists(src), exists(dst)
        if at_dst and at_src and same_file(src, dst):
            try:
                src.unlink()  # the move stopped between its two steps: finish it
                at_src = False
            except OSError:  # the origin cannot be removed (read-only): take the move back
                dst.unlink()
                at_dst = False
        if at_dst and not at_src:
            _set_state(lib, row.id, MoveState.MOVED, None, image_id=row.image_id)
            notes.append(f"{src}: was moved to {dst} before an interruption; recorded")
        elif at_src:
            why = "interrupted before the move; the file was left in place"
            _set_state(lib, row.id, MoveState.FAILED, why)
            notes.append(f"{src}: {why}")
        else:
            why = "found neither at its origin nor in quarantine"
            _set_state(lib, row.id, MoveState.FAILED, why)
            notes.append(f"{src}: {why}")
    return notes


def move_batches(lib: Library) -> list[dict]:
    """Each quarantine batch with its counts per state, newest first."""
    with lib.sessions() as session:
        rows = session.execute(
            select(
                QuarantineMove.batch,
                QuarantineMove.state,
                func.count(),
                func.min(QuarantineMove.created_at),
            ).group_by(QuarantineMove.batch, QuarantineMove.state)
        ).all()
    batches: dict[str, dict] = {}
    for batch, state, n, created in rows:
        entry = batches.setdefault(batch, {"batch": batch, "created_at": created})
        entry[MoveState(state).value] = n
    return sorted(batches.values(), key=lambda b: b["batch"], reverse=True)


# -- helpers ------------------------------------------------------------------------------------


def _set_state(
    lib: Library, row_id: int, state: MoveState, error: str | None, *, image_id: int | None = None
) -> None:
    """A moved copy leaves search and its keeper inherits its metadata, in one transaction."""
    with lib.sessions.begin() as session:
        values: dict = {"state": state, "error": error, "updated_at": datetime.now(UTC)}
        if state == MoveState.MOVED and image_id is not None:
            session.execute(
                update(Image).where(Image.id == image_id).values(status=ImageStatus.MISSING)
            )
            heir = session.scalar(
                select(QuarantineMove.inherited).where(QuarantineMove.id == row_id)
            )
            if heir and heir.get("keeper") is not None and len(heir) == 1:
                values["inherited"] = inherit_metadata(session, image_id, int(heir["keeper"]))
        session.execute(update(QuarantineMove).where(QuarantineMove.id == row_id).values(**values))


def as_move(row: QuarantineMove) -> PlannedMove:
    return PlannedMove(
        row.image_id if row.image_id is not None else -1,
        -1,
        Path(row.src_path),
        Path(row.dst_path),
        0,
        0,
    )


def current_model_id(lib: Library) -> int | None:
    try:
        return lib.model_row.id
    except VitrieveError:
        return None  # no model here: restored rows go to pending, the next ingest settles them


def open_index(lib: Library):
    """The vector index, opened while it still agrees with SQL (so no rebuild), or None when
    there is no model: the index is derived and rebuilds itself from SQL when next opened."""
    try:
        return lib.index()
    except VitrieveError:
        return None


def sync_index(lib: Library, index, *, removed=(), restored=()) -> None:
    if index is None or not (removed or restored):
        return
    from vitrieve.indexer.ingest import add_from_sql

    if removed:
        index.remove(np.asarray(removed, np.int64))
    if restored:
        add_from_sql(lib, index, restored)
    index.save()

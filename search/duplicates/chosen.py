"""A quarantine plan of files the user picked by hand (ticked in Search), not found as copies.

The plan machinery (search/duplicates/plan.py) is keyed by duplicate groups: each move names
the keeper it duplicates, and apply_quarantine (search/duplicates/quarantine.py) only moves a
copy while that keeper is on disk. A hand-picked photo duplicates nothing, so its moves form
one plan group of kind ``chosen`` (number 0, no keeper) and carry the reason ``chosen``
("chosen by you in Search"). Everything else is the duplicates' own path, unchanged: the same
destination rules (outside every root and the data directory), the same layout
(DEST/<root folder name>/<its path in the root>), and the same apply (the file must still hold
the bytes the catalog read, a reference folder is refused again at move time) and undo.

Left in place, each with why: images in a reference folder (always kept), images already
quarantined or gone, ids no longer in the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select

from vitrieve.indexer.catalog import describe_images
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.plan import (
    LeftInPlace,
    Plan,
    PlanGroup,
    PlannedMove,
    check_destination,
    free_name,
    root_labels,
)
from vitrieve.search.duplicates.reference import ReferenceFolders
from vitrieve.tables.catalog import ImageStatus, Root

CHOSEN = "chosen"  # the plan group's kind and each move's reason
CHOSEN_GROUP = 0  # duplicate groups are numbered from 1, so 0 is never one of them


def plan_chosen(lib: Library, image_ids: Iterable[int], dest: Path) -> Plan:
    """The dry run of moving these images to ``dest``, in the order given; nothing moves."""
    dest = dest.expanduser().resolve()
    wanted = list(dict.fromkeys(int(i) for i in image_ids))
    with lib.sessions() as session:
        roots = {r.id: Path(r.path) for r in session.scalars(select(Root))}
        check_destination(dest, roots.values(), lib.settings.home)
        references = ReferenceFolders.load(session)
        images = describe_images(session, wanted)
    root_ids = {Path(p): rid for rid, p in roots.items()}
    labels = root_labels(roots)
    taken: set[Path] = set()
    moves: list[PlannedMove] = []
    left: list[LeftInPlace] = []
    for image_id in wanted:
        im = images.get(image_id)
        if im is None:
            left.append(LeftInPlace(image_id, CHOSEN_GROUP, "", "no longer in the catalog"))
            continue
        folder = references.folder_of(im)
        why = (folder and f"in the reference folder {folder} (always kept)") or (
            im.status == ImageStatus.MISSING and "already quarantined or gone from disk"
        )
        if why:
            left.append(LeftInPlace(image_id, CHOSEN_GROUP, im.path, why))
            continue
        label = labels[root_ids[Path(im.root)]]
        dst = free_name(dest / label / im.rel_path, taken)
        taken.add(dst)
        moves.append(
            PlannedMove(
                image_id,
                CHOSEN_GROUP,
                Path(im.path),
                dst,
                im.size,
                im.mtime_ns,
                reason=CHOSEN,
                captured_at=im.captured_at,
            )
        )
    groups: tuple[PlanGroup, ...] = ()
    if moves:
        groups = (PlanGroup(CHOSEN_GROUP, CHOSEN, False, None, "", "", tuple(moves)),)
    return Plan(dest, groups, tuple(left), {"chosen": wanted})

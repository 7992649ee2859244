"""Where training labels come from: label folders, a CSV file, or explicit image ids (the UI).

Every source resolves to catalog image ids that have a vector from the current model; anything
else is refused up front with the offending files listed, so training never half-works.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from vitrieve.indexer.decode import IMAGE_EXTENSIONS
from vitrieve.indexer.scan import scan_tree
from vitrieve.search.tagging.errors import LabelError, NotEmbeddedError, UnknownFilesError, listing
from vitrieve.tables.catalog import Embedding, Image, ImageStatus, Root
from vitrieve.tables.fsnames import display_path

MAX_LABEL_LENGTH = 128  # tags.label is String(128)
MIN_EXAMPLES = 2  # per label: fewer cannot be cross-validated at all
_CHUNK = 500
_HEADER_PATH = {"path", "file", "filename", "image"}


@dataclass(frozen=True)
class LabelSet:
    """Labelled images: ids sorted and unique, each with its labels (one for single-label)."""

    image_ids: np.ndarray  # int64 [N]
    labels: tuple[tuple[str, ...], ...]  # per image, sorted
    source: str  # what the labels came from, for the probe's metrics

    @property
    def classes(self) -> list[str]:
        return sorted({label for labels in self.labels for label in labels})

    @property
    def multilabel(self) -> bool:
        return any(len(labels) > 1 for labels in self.labels)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.classes, 0)
        for labels in self.labels:
            for label in labels:
                counts[label] += 1
        return counts

    def check_trainable(self, *, multilabel: bool) -> None:
        """The specific reasons a probe cannot be trained on these labels, as one error."""
        counts = self.counts()
        if len(counts) < 2:
            found = f": {listing(list(counts))}" if counts else ""
            raise LabelError(f"a probe needs at least 2 labels, got {len(counts)}{found}")
        few = [f"{label} ({n})" for label, n in counts.items() if n < MIN_EXAMPLES]
        if few:
            raise LabelError(
                f"every label needs at least {MIN_EXAMPLES} images; too few: {listing(few)}"
            )
        if multilabel:
            total = len(self.labels)
            common = [
                f"{label} ({total - n})" for label, n in counts.items() if total - n < MIN_EXAMPLES
            ]
            if common:
                raise LabelError(
                    f"a multi-label probe needs at least {MIN_EXAMPLES} images without each "
                    f"label; images without: {listing(common)}"
                )


def build_label_set(pairs: Iterable[tuple[int, str]], source: str) -> LabelSet:
    by_image: dict[int, set[str]] = defaultdict(set)
    for image_id, label in pairs:
        by_image[int(image_id)].add(check_label(label))
    ids = sorted(by_image)
    return LabelSet(
        np.asarray(ids, dtype=np.int64), tuple(tuple(sorted(by_image[i])) for i in ids), source
    )


def check_label(label: str) -> str:
    """A label is text people read: one from a folder name that is not UTF-8 is kept in its
    display form (``caf\\xe9``), which SQL can store and every screen can show."""
    label = display_path(label.strip())
    if not label:
        raise LabelError("empty label")
    if len(label) > MAX_LABEL_LENGTH:
        raise LabelError(f"label longer than {MAX_LABEL_LENGTH} characters: {label[:40]}...")
    return label


# -- sources ----------------------------------------------------------------------------------


def labels_from_folders(
    session: Session, folder: Path, model_id: int, *, exclude: Collection[Path] = ()
) -> LabelSet:
    """FOLDER/cats/**/*.jpg -> 'cats'. The files on disk are the truth, so a labelled file
    that was never ingested is reported instead of silently left out; files directly in
    FOLDER carry no label and are ignored."""
    folder = folder.expanduser().resolve()
    if not folder.is_dir():
        raise LabelError(f"{folder}: not a directory")
    root_id, root_path = _root_of(session, folder)
    if root_id is None:
        raise LabelError(f"{folder} is not in the catalog: run `vitrieve ingest {folder}` first")
    subdir = folder.relative_to(root_path).as_posix()
    subdir = "" if subdir == "." else subdir
    labelled: dict[str, str] = {}  # rel_path in the root -> label
    for f in scan_tree(root_path, extensions=IMAGE_EXTENSIONS, subdir=subdir, exclude=exclude):
        inside = f.rel_path[len(subdir) + 1 :] if subdir else f.rel_path
        if "/" in inside:
            labelled[f.rel_path] = check_label(inside.split("/", 1)[0])
    if not labelled:
        raise LabelError(
            f"{folder}: no images in sub-folders; put each label's images in a folder named "
            f"after the label (e.g. {folder / 'cats'})"
        )
    rows = _rows_by_rel_path(session, root_id, list(labelled))
    not_ingested = [f"{root_path / rel} (not ingested)" for rel in labelled if rel not in rows]
    found = {rows[rel][0]: str(root_path / rel) for rel in labelled if rel in rows}
    _check_embedded(session, model_id, found, extra_problems=not_ingested)
    return build_label_set(
        ((rows[rel][0], label) for rel, label in labelled.items()), f"folders:{folder}"
    )


def labels_from_csv(session: Session, csv_path: Path, model_id: int) -> LabelSet:
    """Rows of path,label (header optional); an image with several labels has several rows.
    Relative paths are relative to the CSV's folder. With a header, the columns named
    'path' and 'label' are used, so an exported tag CSV can be edited and trained on again."""
    csv_path = csv_path.expanduser().resolve()
    entries = _read_csv(csv_path)
    by_path: dict[Path, list[str]] = defaultdict(list)
    written: dict[Path, str] = {}
    for cell, label in entries:
        path = Path(cell).expanduser()
        path = (path if path.is_absolute() else csv_path.parent / path).resolve()
        by_path[path].append(label)
        written.setdefault(path, cell)
    ids = _ids_of_paths(session, list(by_path))
    unknown = [written[p] for p in by_path if p not in ids]
    if unknown:
        raise UnknownFilesError(f"{csv_path}", unknown)
    _check_embedded(session, model_id, {ids[p]: str(p) for p in by_path})
    return build_label_set(
        ((ids[p], label) for p, labels in by_path.items() for label in labels), f"csv:{csv_path}"
    )


def labels_from_ids(
    session: Session, labelled: Mapping[str, Iterable[int]], model_id: int
) -> LabelSet:
    """{label: [image ids]}: what the UI sends after a user picks examples."""
    pairs = [(int(i), label) for label, ids in labelled.items() for i in ids]
    wanted = sorted({i for i, _ in pairs})
    known: dict[int, str] = {}
    for chunk in _chunks(wanted):
        for image_id, root, rel in session.execute(
            select(Image.id, Root.path, Image.rel_path).join(Root).where(Image.id.in_(chunk))
        ):
            known[image_id] = str(Path(root) / rel)
    unknown = [str(i) for i in wanted if i not in known]
    if unknown:
        raise LabelError(f"unknown image id(s): {listing(unknown)}")
    _check_embedded(session, model_id, known)
    return build_label_set(pairs, "ids")


# -- catalog lookups ---------------------------------------------------------------------------


def _read_csv(csv_path: Path) -> list[tuple[str, str]]:
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise LabelError(f"{csv_path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LabelError(f"{csv_path}: not a UTF-8 CSV file ({exc})") from None
    path_col, label_col, start = 0, 1, 0
    if rows and rows[0] and rows[0][0].strip().lower() in _HEADER_PATH:
        header = [h.strip().lower() for h in rows[0]]
        path_col = next((i for i, h in enumerate(header) if h in _HEADER_PATH), 0)
        label_col = header.index("label") if "label" in header else 1
        start = 1
    entries: list[tuple[str, str]] = []
    for line, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        cells = [row[i].strip() if i < len(row) else "" for i in (path_col, label_col)]
        if not cells[0] or not cells[1]:
            raise LabelError(f"{csv_path}, line {line}: expected path,label; got {row}")
        entries.append((cells[0], check_label(cells[1])))
    if not entries:
        raise LabelError(f"{csv_path}: no labelled rows (expected path,label)")
    return entries


def _root_of(session: Session, path: Path) -> tuple[int | None, Path]:
    """The registered root containing `path` (roots never nest: ingest absorbs them)."""
    for root_id, root in session.execute(select(Root.id, Root.path)):
        root_path = Path(root)
        if path == root_path or root_path in path.parents:
            return root_id, root_path
    return None, path


def _rows_by_rel_path(
    session: Session, root_id: int, rel_paths: list[str]
) -> dict[str, tuple[int, str]]:
    rows: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(rel_paths):
        for image_id, rel, status in session.execute(
            select(Image.id, Image.rel_path, Image.status).where(
                Image.root_id == root_id, Image.rel_path.in_(chunk)
            )
        ):
            rows[rel] = (image_id, status)
    return rows


def _ids_of_paths(session: Session, paths: list[Path]) -> dict[Path, int]:
    roots = [(rid, Path(p)) for rid, p in session.execute(select(Root.id, Root.path))]
    by_root: dict[int, dict[str, Path]] = defaultdict(dict)
    for path in paths:
        for root_id, root_path in roots:
            if root_path in path.parents:
                by_root[root_id][path.relative_to(root_path).as_posix()] = path
                break
    ids: dict[Path, int] = {}
    for root_id, rels in by_root.items():
        for rel, (image_id, _) in _rows_by_rel_path(session, root_id, list(rels)).items():
            ids[rels[rel]] = image_id
    return ids


def _check_embedded(
    session: Session,
    model_id: int,
    images: Mapping[int, str],
    extra_problems: list[str] | None = None,
) -> None:
    """Every labelled image must be searchable now: status embedded with this model's vector."""
    ok: set[int] = set()
    states: dict[int, tuple[str, str | None]] = {}
    for chunk in _chunks(sorted(images)):
        for image_id, status, error in session.execute(
            select(Image.id, Image.status, Image.error).where(Image.id.in_(chunk))
        ):
            states[image_id] = (ImageStatus(status).value, error)
        ok.update(
            session.scalars(
                select(Embedding.image_id)
                .join(Image)
                .where(
                    Embedding.image_id.in_(chunk),
                    Embedding.model_id == model_id,
                    Image.status == ImageStatus.EMBEDDED,
                )
            )
        )
    problems = list(extra_problems or [])
    for image_id, path in images.items():
        if image_id in ok:
            continue
        state, error = states.get(image_id, ("unknown", None))
        if state == ImageStatus.EMBEDDED.value:
            state = "no vector from the current model"
        problems.append(f"{path} ({state}{': ' + error if error else ''})")
    if problems:
        raise NotEmbeddedError(sorted(problems))


def _chunks(items: list, size: int = _CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]

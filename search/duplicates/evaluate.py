"""`vitrieve eval dups`: precision, recall and F1 of duplicate pairs against a ground truth.

The ground truth is a grouping of image files: a CSV of `path,group` rows (paths relative to
the CSV's folder or absolute; a header row is optional), or a folder with one sub-folder per
group (files directly in it are singletons). Two images form a true pair when they share a
group; a predicted pair when the detector puts them in one group at the threshold. Counting
pairs this way is what imagededup reports for its "duplicate" class.

The groups are the ones `vitrieve dups` shows (``grouping="keeper"``: keeper-centred, see
search.duplicates.centred), or, to compare, the connected components of the duplicate graph
that vitrieve used before (``grouping="components"``).

Only images of the truth that are searchable in the catalog are evaluated, and the groups are
formed among those images alone. The detector is measured on its own: the user's "not
duplicates" decisions are not applied.

Beside the given thresholds, every report scores the ones `vitrieve dups` would use (``compared``):
the fixed DEFAULT_THRESHOLD and, when the current model is calibrated (`vitrieve calibrate`), the
calibrated strict, balanced and loose thresholds, each labelled, so the calibration is judged on
the same truth as the fixed value it replaces.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics.cluster import pair_confusion_matrix
from sqlalchemy import select

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.decode import IMAGE_EXTENSIONS
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.backfill import fill_missing_facts
from vitrieve.search.duplicates.centred import copy_keys_of, keeper_centred, keeper_order
from vitrieve.search.duplicates.curve import STRICTNESS
from vitrieve.search.duplicates.find import DEFAULT_THRESHOLD, EdgeSet, duplicate_edges
from vitrieve.search.duplicates.graph import Edges, components
from vitrieve.search.duplicates.groups import image_facts
from vitrieve.search.duplicates.pairs import DEFAULT_NPROBE, ProgressFn
from vitrieve.search.duplicates.threshold import UNCALIBRATED, latest_calibration
from vitrieve.tables.catalog import Image, ImageStatus, Root

DEFAULT_SWEEP = tuple(round(0.80 + 0.01 * i, 2) for i in range(20))  # 0.80 .. 0.99
GROUPINGS = ("keeper", "components")

Grouping = Callable[[Edges], list[np.ndarray]]  # edges at one threshold -> groups


@dataclass(frozen=True, slots=True)
class EvalRow:
    threshold: float
    precision: float  # 0 when nothing is predicted (as scikit-learn does)
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int


@dataclass(frozen=True, slots=True)
class LabelledRow:
    label: str  # "fixed", "calibrated strict", "calibrated balanced", "calibrated loose"
    row: EvalRow


@dataclass
class EvalReport:
    images: int  # truth images found (searchable) in the catalog
    true_pairs: int
    rows: list[EvalRow] = field(default_factory=list)  # the given thresholds
    unmatched: list[str] = field(default_factory=list)  # truth paths not searchable
    grouping: str = "keeper"  # GROUPINGS
    compared: list[LabelledRow] = field(default_factory=list)  # what `dups` would use
    calibration: str = UNCALIBRATED  # the calibration in force, in words

    @property
    def best(self) -> EvalRow | None:
        return max(self.rows, key=lambda r: (r.f1, r.threshold), default=None)

    def to_dict(self) -> dict:
        best = self.best
        return {
            "images": self.images,
            "true_pairs": self.true_pairs,
            "grouping": self.grouping,
            "unmatched": self.unmatched,
            "best": asdict(best) if best else None,
            "rows": [asdict(r) for r in self.rows],
            "calibration": self.calibration,
            "compared": [{"label": c.label} | asdict(c.row) for c in self.compared],
        }


def reference_thresholds(lib: Library) -> tuple[list[tuple[str, float]], str]:
    """(label, threshold) of the fixed value and of each calibrated strictness, and the
    calibration in words (UNCALIBRATED without one)."""
    named = [("fixed", DEFAULT_THRESHOLD)]
    found = latest_calibration(lib)
    if found is None:
        return named, UNCALIBRATED
    named += [(f"calibrated {s}", found.thresholds[s]) for s in STRICTNESS]
    return named, found.describe()


def parse_thresholds(spec: str) -> list[float]:
    """'0.80:0.99:0.01' (inclusive range) or '0.85,0.9,0.95'."""
    try:
        if ":" in spec:
            start, stop, step = (float(x) for x in spec.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            count = round((stop - start) / step) + 1
            values = [round(start + i * step, 6) for i in range(count)]
        else:
            values = [float(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise VitrieveError(f"thresholds {spec!r}: use START:STOP:STEP or a comma list") from None
    if not values or any(not -1 <= v <= 1 for v in values):
        raise VitrieveError(f"thresholds {spec!r}: cosine thresholds lie in [-1, 1]")
    return sorted(set(values))


def load_truth(path: Path) -> dict[Path, str]:
    """Absolute file path -> group name, from a CSV or a folder of group folders."""
    path = path.expanduser().resolve()
    if path.is_dir():
        truth = {}
        for f in sorted(path.rglob("*")):
            if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS:
                rel = f.relative_to(path)
                truth[f] = rel.parts[0] if len(rel.parts) > 1 else f"file:{rel}"
        return truth
    if not path.is_file():
        raise VitrieveError(f"{path}: no such truth file or folder")
    truth = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            if n == 1 and [c.strip().lower() for c in row[:2]] == ["path", "group"]:
                continue
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                raise VitrieveError(f"{path}:{n}: expected 'path,group', got {','.join(row)!r}")
            file = Path(row[0].strip()).expanduser()
            truth[(file if file.is_absolute() else path.parent / file).resolve()] = row[1].strip()
    return truth


def pair_scores(threshold: float, truth: np.ndarray, predicted: np.ndarray) -> EvalRow:
    """Pair counts of two labelings of the same images (labels are arbitrary ints)."""
    matrix = pair_confusion_matrix(truth, predicted) // 2  # it counts ordered pairs
    tp, fp, fn = int(matrix[1, 1]), int(matrix[0, 1]), int(matrix[1, 0])
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return EvalRow(threshold, round(precision, 6), round(recall, 6), round(f1, 6), tp, fp, fn)


def labels_from_edges(ids: np.ndarray, edges: Edges, grouping: Grouping = components) -> np.ndarray:
    """Group label of each id (sorted ids); ids in no group are alone in their group."""
    labels = np.arange(len(ids))
    for group in grouping(edges):
        pos = np.searchsorted(ids, group)
        labels[pos] = pos.min()
    return labels


def sweep(
    ids: np.ndarray,
    truth: np.ndarray,
    edges: Edges,
    thresholds: Sequence[float],
    grouping: Grouping = components,
) -> list[EvalRow]:
    """Scores at each threshold; `edges` must hold every pair at the lowest threshold."""
    return [
        pair_scores(t, truth, labels_from_edges(ids, edges.above(t), grouping)) for t in thresholds
    ]


def keeper_grouping(lib: Library, ids: np.ndarray, found: EdgeSet) -> Grouping:
    """The keeper-centred groups `vitrieve dups` forms, with the keeper rule alone (the user's
    keepers are decisions, and decisions are not applied here)."""
    fill_missing_facts(lib, ids)
    with lib.sessions() as session:
        facts = image_facts(session, ids.tolist())
    rows_of = None if found.vectors is None else found.vectors.rows_of

    def grouping(edges: Edges) -> list[np.ndarray]:
        return keeper_centred(
            edges,
            lambda component: keeper_order(component, facts, frozenset()),
            rows_of=rows_of,
            copy_keys=copy_keys_of(facts),
        )

    return grouping


def evaluate(
    lib: Library,
    truth_path: Path,
    thresholds: Sequence[float] = DEFAULT_SWEEP,
    *,
    method: str = "auto",
    nprobe: int = DEFAULT_NPROBE,
    grouping: str = "keeper",
    progress: ProgressFn | None = None,
) -> EvalReport:
    if grouping not in GROUPINGS:
        raise VitrieveError(f"grouping {grouping!r}: use one of {', '.join(GROUPINGS)}")
    truth = load_truth(truth_path)
    if not truth:
        raise VitrieveError(f"{truth_path}: the ground truth lists no image")
    found = _catalog_ids(lib, list(truth))
    if not found:
        raise VitrieveError(
            f"{truth_path}: none of its {len(truth)} images is searchable in the catalog "
            "(ingest their folder first)"
        )
    ids = np.asarray(sorted(found.values()), np.int64)
    group_of = {image_id: truth[p] for p, image_id in found.items()}
    names = {name: i for i, name in enumerate(sorted(set(group_of.values())))}
    truth_labels = np.asarray([names[group_of[int(i)]] for i in ids])
    named, calibration = reference_thresholds(lib)
    lowest = min([*thresholds, *(t for _, t in named)])
    searched = duplicate_edges(
        lib, lowest, only_ids=ids, method=method, nprobe=nprobe, progress=progress
    )
    edges = searched.edges.restricted_to(ids)
    form = components if grouping == "components" else keeper_grouping(lib, ids, searched)
    rows = sweep(ids, truth_labels, edges, thresholds, form)
    scored = sweep(ids, truth_labels, edges, [t for _, t in named], form)
    compared = [LabelledRow(label, row) for (label, _), row in zip(named, scored, strict=True)]
    true_pairs = scored[0].true_positives + scored[0].false_negatives
    unmatched = sorted(str(p) for p in truth if p not in found)
    return EvalReport(len(ids), true_pairs, rows, unmatched, grouping, compared, calibration)


def _catalog_ids(lib: Library, paths: list[Path]) -> dict[Path, int]:
    """Searchable catalog image id of each path that has one."""
    out: dict[Path, int] = {}
    with lib.sessions() as session:
        roots = sorted(
            ((Path(p), rid) for rid, p in session.execute(select(Root.id, Root.path))),
            key=lambda r: len(r[0].parts),
            reverse=True,
        )
        by_root: dict[int, dict[str, Path]] = {}
        for p in paths:
            for root, rid in roots:
                if root in p.parents:
                    by_root.setdefault(rid, {})[p.relative_to(root).as_posix()] = p
                    break
        for rid, rels in by_root.items():
            names = sorted(rels)
            for i in range(0, len(names), 500):
                for image_id, rel in session.execute(
                    select(Image.id, Image.rel_path).where(
                        Image.root_id == rid,
                        Image.rel_path.in_(names[i : i + 500]),
                        Image.status == ImageStatus.EMBEDDED,
                    )
                ):
                    out[rels[rel]] = image_id
    return out

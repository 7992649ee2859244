"""The public `vitrieve.Library`: one open library for Python code (docs/PYTHON.md).

A thin facade over the functions the CLI runs (`indexer.ingest.ingest`, `search.query`,
`search.duplicates.find`, `search.duplicates.across`, `search.embed_files`, `search.tagging`),
so a notebook and `vitrieve ...` give the same answers. Progress is drawn by the CLI's rich
bars on stderr (`progress=False` silences them). Every failure a user can act on is a
`VitrieveError` whose message is the one line the CLI prints: a catalog or file error that
reaches here as SQLAlchemy's or the OS's exception is re-raised as one, worded by the CLI's
`ui/cli/errors.py`, with the original as its cause.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeAlias, TypeVar

import numpy as np
from PIL import Image as PILImage
from sqlalchemy.exc import SQLAlchemyError

from vitrieve.api.groups import DuplicateGroups
from vitrieve.core.config import Settings
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.ingest import IngestProgress, IngestSummary
from vitrieve.indexer.library import Library as Catalog
from vitrieve.search.duplicates.groups import DupMember
from vitrieve.search.duplicates.pairs import ProgressFn
from vitrieve.search.query import Query, SearchResult
from vitrieve.search.tagging.query import ImageTag

if TYPE_CHECKING:
    from vitrieve.search.duplicates.plan import Plan

P = ParamSpec("P")
R = TypeVar("R")
PathLikeStr: TypeAlias = str | os.PathLike[str]
#: What `search` takes as its example: a catalog id, an image file, its bytes, a PIL image or
#: a vector of the model's dimension.
QueryLike: TypeAlias = int | PathLikeStr | bytes | PILImage.Image | np.ndarray


def one_line_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Catalog and file errors as the CLI's one-line VitrieveError (module doc)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except VitrieveError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            from vitrieve.ui.cli.errors import describe

            raise VitrieveError(describe(exc)) from exc

    return wrapper


class Library:
    """An open vitrieve library; `vitrieve.open(...)` makes one. Use it as a context manager
    (or call `close`) so a background index rebuild finishes and the catalog is released."""

    @one_line_errors
    def __init__(self, settings: Settings) -> None:
        self._lib = Catalog(settings)

    @property
    def settings(self) -> Settings:
        return self._lib.settings

    def close(self) -> None:
        self._lib.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @one_line_errors
    def ingest(
        self,
        paths: PathLikeStr | Iterable[PathLikeStr],
        progress: bool | IngestProgress = True,
    ) -> IngestSummary:
        """Scan folders (registered as roots), embed new and changed images, update the index:
        `vitrieve ingest`, including its automatic tagging and first calibration."""
        from vitrieve.indexer.ingest import ingest
        from vitrieve.search.duplicates.auto_calibrate import auto_calibrate
        from vitrieve.search.tagging.apply import auto_tagger
        from vitrieve.ui.cli.common import err
        from vitrieve.ui.progress import RichIngestProgress

        folders = _paths(paths)
        if isinstance(progress, bool):
            with RichIngestProgress(err, enabled=progress) as bars:
                summary = ingest(self._lib, folders, bars, on_embedded=auto_tagger(self._lib))
        else:
            summary = ingest(self._lib, folders, progress, on_embedded=auto_tagger(self._lib))
        auto_calibrate(self._lib)  # once per model, as the CLI does; never raises
        return summary

    @one_line_errors
    def search(
        self,
        query: QueryLike,
        k: int = 10,
        *,
        folder: PathLikeStr | None = None,
        tag: str | None = None,
        min_score: float = 0.5,
    ) -> list[SearchResult]:
        """The ``k`` images most similar to ``query`` (`vitrieve search`), best first; a query
        image in the catalog is left out of its own results."""
        from vitrieve.search.query import check_folder, search
        from vitrieve.search.tagging.query import search_tagged

        where = check_folder(self._lib, None if folder is None else Path(folder))
        example = self._query(query)
        if tag is not None:
            return search_tagged(self._lib, example, k, tag=tag, min_score=min_score, folder=where)
        return search(self._lib, example, k, folder=where)

    def _query(self, query: QueryLike) -> Query:
        from vitrieve.search.query import query_from_bytes, query_from_file, query_from_id

        if isinstance(query, bool):
            raise TypeError("query must be an image id, a file, bytes, a PIL image or a vector")
        if isinstance(query, int | np.integer):
            return query_from_id(self._lib, int(query))
        if isinstance(query, np.ndarray):
            return Query(self._vector(query), None)
        if isinstance(query, bytes):
            return query_from_bytes(self._lib, query, "query bytes")
        if isinstance(query, PILImage.Image):
            buffer = io.BytesIO()
            query.convert("RGB").save(buffer, format="PNG")
            return query_from_bytes(self._lib, buffer.getvalue(), "query image")
        return query_from_file(self._lib, Path(query))

    def _vector(self, vector: np.ndarray) -> np.ndarray:
        dim = self._lib.model_row.dim
        v = np.asarray(vector, np.float32).reshape(-1)
        if v.shape != (dim,) or not np.all(np.isfinite(v)) or not np.any(v):
            raise VitrieveError(
                f"query vector of shape {vector.shape}: the model's vectors are {dim} finite "
                "numbers, not all zero"
            )
        unit: np.ndarray = v / np.linalg.norm(v)
        return unit

    @one_line_errors
    def duplicates(
        self,
        threshold: float | None = None,
        exact_only: bool = False,
        within: PathLikeStr | None = None,
        across: Iterable[PathLikeStr] | None = None,
        *,
        strictness: str | None = None,
        progress: bool = True,
    ) -> DuplicateGroups:
        """`vitrieve dups`: keeper-centred groups at ``threshold`` (default: the calibrated or
        fixed threshold in force, along ``strictness``). ``within``: only images under that
        folder (a group keeps its members there, listed while two remain). ``across``: folders
        in order, reference set first; the images of later sets that copy one of an earlier set
        (`vitrieve dups --across`), never pairs inside one set."""
        from vitrieve.search.duplicates.threshold import threshold_in_force

        if exact_only:
            chosen, why = None, "exact duplicates only"
        elif threshold is None:
            chosen, why = threshold_in_force(self._lib, strictness)
        else:
            chosen, why = threshold, f"threshold {threshold:.3f} given"
        with _bars(progress) as bars:
            if across is not None:
                if within is not None:
                    raise VitrieveError("give within or across, not both")
                return self._across(_paths(across), chosen, why, bars)
            return self._groups(chosen, why, None if within is None else Path(within), bars)

    def _groups(
        self, threshold: float | None, why: str, within: Path | None, bars: ProgressFn | None
    ) -> DuplicateGroups:
        from vitrieve.search.duplicates.find import find_duplicates
        from vitrieve.search.query import check_folder

        folder = check_folder(self._lib, within)
        report = find_duplicates(
            self._lib,
            threshold=1.0 if threshold is None else threshold,
            exact_only=threshold is None,
            progress=bars,
        )
        groups = report.groups
        if folder is not None:
            cut = [replace(g, members=_inside(g.members, folder)) for g in groups]
            groups = [g for g in cut if len(g.members) > 1]
        return DuplicateGroups(
            tuple(groups),
            report.threshold,
            why,
            considered=lambda: self._paths_under(folder),
        )

    def _across(
        self, folders: list[Path], threshold: float | None, why: str, bars: ProgressFn | None
    ) -> DuplicateGroups:
        from vitrieve.search.duplicates.across import find_leaks, leak_groups

        report = find_leaks(self._lib, folders, threshold=threshold, progress=bars)
        report.why = why
        sets = [Path(s) for s in report.sets]
        return DuplicateGroups(
            tuple(leak_groups(self._lib, report)),
            threshold,
            why,
            leaks=tuple(report.leaks),
            sets=tuple(report.sets),
            considered=lambda: [p for s in sets for p in self._paths_under(s)],
        )

    def _paths_under(self, folder: Path | None) -> list[str]:
        from vitrieve.indexer.catalog import describe_images, searchable_ids
        from vitrieve.search.query import folder_ids

        ids = None if folder is None else folder_ids(self._lib, folder)
        with self._lib.sessions() as session:
            if ids is None:
                ids = searchable_ids(session, self._lib.model_row.id)
            images = describe_images(session, ids.tolist())
        return sorted(image.path for image in images.values())

    @one_line_errors
    def quarantine_plan(self, groups: DuplicateGroups, dest: PathLikeStr) -> Plan:
        """The dry run of `vitrieve dups quarantine DEST` (with ``--across`` for leak groups):
        each move, its keeper, similarity and reason. Nothing is moved; `vitrieve dups
        quarantine --apply` moves and `vitrieve dups undo` puts back."""
        from vitrieve.search.duplicates.quarantine import plan_quarantine

        exact = groups.threshold is None
        return plan_quarantine(
            self._lib, groups, Path(dest), exact_only=exact, threshold=groups.threshold
        )

    @one_line_errors
    def embed(self, paths: PathLikeStr | Iterable[PathLikeStr]) -> np.ndarray:
        """The embeddings of image files, one row each, float32 (`vitrieve embed`; nothing is
        stored). A file that cannot be read or decoded fails the call, naming it."""
        from vitrieve.search.embed_files import embed_files

        files = _paths(paths)
        rows = embed_files(self._lib, files)
        failed = [f"{r.path}: {r.error}" for r in rows if r.error]
        if failed:
            raise VitrieveError("; ".join(failed))
        if not rows:
            return np.empty((0, self._lib.model_row.dim), np.float32)
        return np.asarray([r.vector for r in rows], np.float32)

    @one_line_errors
    def tags(self, image: int | PathLikeStr, *, min_score: float = 0.5) -> list[ImageTag]:
        """One image's tags, by catalog id or file (`vitrieve tag show`): manual ones, and each
        probe's scores, each saying whether it counts at ``min_score``."""
        from vitrieve.indexer.catalog import describe_images, image_id_of_path
        from vitrieve.search.tagging.query import image_tags

        with self._lib.sessions() as session:
            found = (
                image
                if isinstance(image, int)
                else image_id_of_path(session, Path(image).expanduser().resolve())
            )
            if found is None:
                raise VitrieveError(f"{image}: not in the catalog (run vitrieve ingest first)")
            image_id: int = found
            if not describe_images(session, [image_id]):
                raise VitrieveError(f"no image with id {image_id} in the catalog")
            return image_tags(session, image_id, min_score)

    @one_line_errors
    def labels(self) -> list[str]:
        """Every tag label known: the active probes' classes and the manual tags."""
        from vitrieve.search.tagging.query import known_labels

        with self._lib.sessions() as session:
            return known_labels(session)


def _paths(paths: PathLikeStr | Iterable[PathLikeStr]) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _inside(members: Iterable[DupMember], folder: Path) -> tuple[DupMember, ...]:
    return tuple(m for m in members if Path(m.path).is_relative_to(folder))


@contextmanager
def _bars(enabled: bool) -> Iterator[ProgressFn | None]:
    """The CLI's counted bars on stderr (shown on a terminal), as a ProgressFn."""
    if not enabled:
        yield None
        return
    from vitrieve.ui.cli.common import err
    from vitrieve.ui.progress import counted_bars

    bars = counted_bars(err)
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        bars.update(tasks[stage], completed=done, total=total)

    with bars:
        yield update

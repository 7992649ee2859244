"""The tagging errors a user can act on; each names what was wrong (files, labels, models)."""

from __future__ import annotations

from collections.abc import Sequence

from vitrieve.core.errors import VitrieveError

LIST_LIMIT = 20


def listing(items: Sequence[str], limit: int = LIST_LIMIT) -> str:
    """'a, b, c' or 'a, b, ... and 7 more': long lists stay one readable line."""
    shown = ", ".join(items[:limit])
    rest = len(items) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


class LabelError(VitrieveError):
    """Training labels that cannot make a probe (too few classes or examples, bad input)."""


class UnknownFilesError(LabelError):
    def __init__(self, what: str, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        super().__init__(
            f"{what} names {len(paths)} file(s) that are not in the catalog "
            f"(run `vitrieve ingest` on their folder first): {listing(self.paths)}"
        )


class NotEmbeddedError(LabelError):
    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            f"{len(problems)} labelled image(s) have no embedding from the current model yet "
            f"(run `vitrieve ingest` on their folder): {listing(self.problems)}"
        )


class ProbeNotFoundError(VitrieveError):
    pass


class ProbeModelMismatchError(VitrieveError):
    """A probe scores only vectors of the model it was trained on (their spaces differ)."""

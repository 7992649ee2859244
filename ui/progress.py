"""Rich progress display for ingest: files scanned, then images embedded with rate and ETA."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def counted_bars(console: Console, label: str = "{task.description}") -> Progress:
    """A bar per task with done/total and elapsed time on `console`, shown only when it is a
    terminal: what `dups`, `thumbs` and `calibrate` draw on stderr."""
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


class RichIngestProgress:
    """Implements indexer.ingest.IngestProgress; disabled when stderr is not a terminal."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self._scan: TaskID | None = None
        self._embed: TaskID | None = None
        self._embed_started: float | None = None
        self._embed_seconds = 0.0
        self._embed_done = 0

    def __enter__(self) -> RichIngestProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def scanned(self, files: int) -> None:
        if self._scan is None:
            self._scan = self._progress.add_task("scanning", total=None, rate="")
        self._progress.update(self._scan, completed=files)

    @property
    def rate(self) -> float | None:
        """Images embedded per second since embedding began: the one figure the bar shows and
        `vitrieve ingest` closes with (None before any image is done)."""
        if not self._embed_done or self._embed_seconds <= 0:
            return None
        return self._embed_done / self._embed_seconds

    def embedding(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self._embed is None:
            if self._scan is not None:
                self._progress.update(self._scan, total=self._progress.tasks[0].completed)
            self._embed = self._progress.add_task("embedding", total=total, rate="")
            self._embed_started = now
        assert self._embed_started is not None  # set with the task just above
        self._embed_seconds, self._embed_done = now - self._embed_started, done
        rate = self.rate
        self._progress.update(
            self._embed, completed=done, rate="" if rate is None else f"{rate:.1f} img/s"
        )

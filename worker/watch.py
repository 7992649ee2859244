"""Filesystem watcher: new, changed, moved or deleted photos under watched roots become scan jobs.

Events are debounced per folder (a copy of 500 photos is one job, not 500) and the job scans
only the folders that changed. Whether a file is still being copied in is decided later, by the
scan (files modified within `settle_seconds` are deferred to a follow-up job), so the watcher
never has to track open files. Where the OS gives no events (network shares, inotify limits),
watchdog's polling observer or beat's periodic rescan still finds the files.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch
from watchdog.observers.polling import PollingObserver

from vitrieve.core.config import CAMERA_RAW_EXTENSIONS
from vitrieve.indexer.decode import IMAGE_EXTENSIONS

log = logging.getLogger(__name__)

MAX_FOLDERS_PER_JOB = 16  # beyond that, scanning the whole root is cheaper than many subtrees
_IGNORED_EVENTS = {"opened", "closed_no_write"}


# Any RAW LibRaw reads wakes a rescan; the scan itself picks up VITRIEVE_RAW_EXTENSIONS only.
_WATCHED = IMAGE_EXTENSIONS | CAMERA_RAW_EXTENSIONS


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED_EVENTS:
            return
        if event.is_directory and event.event_type in ("modified", "attrib"):
            return  # a file inside changed: that file's own event says which
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                self.watcher.touched(Path(os.fsdecode(path)), event.is_directory)


class FolderWatcher:
    """Watches roots; calls `enqueue(root, folders)` once a root's folders have been quiet.

    `roots` is re-read every `reload_s` (roots added or removed while running are followed).
    """

    def __init__(
        self,
        roots: Callable[[], Iterable[Path]],
        enqueue: Callable[[Path, list[Path]], None],
        *,
        debounce_s: float = 1.0,
        reload_s: float = 10.0,
        exclude: Sequence[Path] = (),
        polling: bool = False,
    ) -> None:
        self._roots_source = roots
        self._enqueue = enqueue
        self.debounce_s = debounce_s
        self.reload_s = reload_s
        self._exclude = [Path(os.path.realpath(p)) for p in exclude]
        self._observer = PollingObserver(timeout=1) if polling else Observer()
        self._watches: dict[Path, ObservedWatch] = {}
        self._dirty: dict[Path, dict[Path, float]] = {}  # root -> folder -> last event time
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="watch-debounce", daemon=True)
        self._handler = _Handler(self)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.reload_roots()
        self._observer.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._observer.stop()
        self._observer.join(timeout=5)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    @property
    def watched(self) -> list[Path]:
        return sorted(self._watches)

    def reload_roots(self) -> None:
        try:
            wanted = {Path(p) for p in self._roots_source()}
        except Exception:
            log.exception("could not read the watched roots; keeping the current ones")
            return
        for root in set(self._watches) - wanted:
            self._observer.unschedule(self._watches.pop(root))
            with self._lock:
                self._dirty.pop(root, None)
            log.info("stopped watching %s", root)
        for root in sorted(wanted - set(self._watches)):
            if not root.is_dir():
                continue  # unmounted or deleted: beat's rescan reports it; retried next reload
            try:
                self._watches[root] = self._observer.schedule(
                    self._handler, str(root), recursive=True
                )
                log.info("watching %s", root)
            except OSError as exc:  # e.g. inotify watch limit reached
                log.warning("cannot watch %s (%s); it is rescanned periodically instead", root, exc)

    # -- events ------------------------------------------------------------------------------

    def touched(self, path: Path, is_directory: bool) -> None:
        root = next((r for r in self._watches if r == path or r in path.parents), None)
        if root is None or self._ignored(path, root, is_directory):
            return
        folder = path if is_directory and path.is_dir() else path.parent
        with self._lock:
            self._dirty.setdefault(root, {})[folder] = time.monotonic()

    def _ignored(self, path: Path, root: Path, is_directory: bool) -> bool:
        rel = path.relative_to(root).parts
        if any(part.startswith(".") for part in rel):  # hidden, and rsync's temp files
            return True
        if any(ex == path or ex in path.parents for ex in self._exclude):
            return True
        return not is_directory and path.suffix.lower() not in _WATCHED

    def flush(self, now: float | None = None) -> int:
        """Enqueues every root whose folders have had no event for `debounce_s`."""
        now = time.monotonic() if now is None else now
        ready: list[tuple[Path, list[Path]]] = []
        with self._lock:
            for root, folders in list(self._dirty.items()):
                if folders and now - max(folders.values()) >= self.debounce_s:
                    ready.append((root, _scan_folders(root, list(folders))))
                    del self._dirty[root]
        for root, to_scan in ready:
            try:
                self._enqueue(root, to_scan)
            except Exception:
                log.exception("could not queue a scan of %s; beat's rescan will catch it", root)
        return len(ready)

    def _loop(self) -> None:
        next_reload = time.monotonic() + self.reload_s
        while not self._stop.wait(0.25):
            self.flush()
            if time.monotonic() >= next_reload:
                self.reload_roots()
                next_reload = time.monotonic() + self.reload_s


def _scan_folders(root: Path, folders: list[Path]) -> list[Path]:
    """The smallest set of existing folders that covers the changes (nested ones dropped)."""
    existing = set()
    for folder in folders:
        while folder != root and not folder.is_dir():
            folder = folder.parent  # a deleted folder: scan its parent to mark its files missing
        existing.add(folder)
    kept = sorted(f for f in existing if not any(p in existing for p in f.parents))
    return [root] if root in kept or len(kept) > MAX_FOLDERS_PER_JOB else kept

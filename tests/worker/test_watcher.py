"""The filesystem watcher with real OS events (watchdog): a burst of changes becomes one scan
of the folders that changed; hidden files and non-images are ignored."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.support import noise_image
from vitrieve.worker.watch import FolderWatcher, _scan_folders


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Path, list[Path]]] = []
        self.event = threading.Event()

    def __call__(self, root: Path, folders: list[Path]) -> None:
        self.calls.append((root, folders))
        self.event.set()


def test_a_burst_of_new_photos_becomes_one_scan_of_the_changed_folders(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "b" / "c").mkdir(parents=True)
    (root / "untouched").mkdir()
    record = Recorder()
    watcher = FolderWatcher(lambda: [root], record, debounce_s=0.5)
    watcher.start()
    try:
        assert watcher.watched == [root]
        for i in range(3):
            noise_image(i).save(root / "a" / f"{i}.jpg")
        noise_image(9).save(root / "b" / "c" / "x.png")
        assert record.event.wait(20), "no scan was queued"
        time.sleep(1.0)  # nothing else should follow the burst
    finally:
        watcher.stop()

    assert record.calls == [(root, [root / "a", root / "b" / "c"])]


def test_hidden_files_and_non_images_queue_nothing(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    record = Recorder()
    watcher = FolderWatcher(lambda: [root], record, debounce_s=0.3)
    watcher.start()
    try:
        (root / "notes.txt").write_text("hello")
        (root / ".partial.jpg").write_bytes(b"\xff\xd8")  # e.g. rsync's temporary file
        (root / ".hidden").mkdir()
        noise_image(1).save(root / ".hidden" / "x.jpg")
        time.sleep(2.0)
    finally:
        watcher.stop()

    assert record.calls == []


def test_the_folders_to_scan_cover_every_change_with_the_fewest_folders(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "c").mkdir()
    gone = root / "c" / "deleted" / "deeper"

    assert _scan_folders(root, [root / "a" / "b", root / "a", root / "c"]) == [
        root / "a",
        root / "c",
    ]
    assert _scan_folders(root, [gone]) == [root / "c"]  # the nearest folder that still exists
    many = [root / f"f{i}" for i in range(20)]
    for folder in many:
        folder.mkdir()
    assert _scan_folders(root, many) == [root]  # cheaper to rescan the root

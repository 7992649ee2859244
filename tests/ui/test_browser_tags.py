"""The Tags page in a real browser (headless Chromium against `vitrieve ui`): the tagger just
trained is the one shown and the one "Apply" names and applies, never an older one that was
selected before (issue 22)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import CHROMIUM, CHROMIUM_ARGS, OUTPUT, need_chromium, noise_image, run_server
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.tagging.train import train_from_folders


@pytest.fixture
def tags_home(settings: Settings, photos: Path, tmp_path: Path) -> Path:
    """Label folders in the root: labels/ (noise/, photo/) for the tagger the test trains, and
    older/ (dull/, vivid/), on which an older tagger "alpha" was trained: the one the page shows
    first (a label belongs to one tagger, hence two sets)."""
    for labelled, (plain, real) in ((photos / "labels", ("noise", "photo")),
                                    (photos / "older", ("dull", "vivid"))):  # fmt: skip
        (labelled / plain).mkdir(parents=True)
        (labelled / real).mkdir()
        for i in range(3):
            noise_image(i + len(real)).save(labelled / plain / f"n{i}.jpg", quality=90)
        for name in ("astronaut.jpg", "coffee.jpg", "immunohistochemistry.jpg"):
            (labelled / real / name).write_bytes((photos / name).read_bytes())
    with Library(settings) as lib:
        ingest(lib, [photos])
        train_from_folders(lib, "alpha", photos / "older")
    return settings.home


def test_tags_applies_the_tagger_just_trained(tags_home: Path, photos: Path, tmp_path: Path):
    need_chromium()
    from playwright.sync_api import expect, sync_playwright

    with run_server(tags_home, tmp_path) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{server.url}/tags", wait_until="domcontentloaded")
            apply_alpha = page.get_by_role("button", name="Apply alpha v1 to the collection")
            expect(apply_alpha).to_be_visible(timeout=60_000)

            page.get_by_text("…or train from label folders").click()
            page.get_by_label("Folder of label folders").fill(str(photos / "labels"))
            form = page.locator(".st-key-folder_probe_name")
            form.get_by_label("Tagger name").fill("zebra")
            page.get_by_role("button", name="Train from folders").click()
            expect(page.get_by_text("Trained zebra v1 on 6 pictures")).to_be_visible(timeout=60_000)

            apply_zebra = page.get_by_role("button", name="Apply zebra v1 to the collection")
            expect(apply_zebra).to_be_visible(timeout=30_000)
            expect(apply_alpha).to_have_count(0)
            apply_zebra.click()
            expect(page.get_by_text("with zebra v1 in")).to_be_visible(timeout=60_000)
            OUTPUT.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUTPUT / "tags-applied-1440.png"), full_page=True)
        finally:
            browser.close()

"""Keeper preferences and reference folders in a real browser (headless Chromium on a live
`vitrieve ui`): a preference typed in the Duplicates sidebar changes a group's keeper and is
named in its reason; a root made a reference folder on the Library page keeps every one of its
images, so a plan of every group moves nothing.

Screenshots land in <repo>/test-output/browser/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil

from sqlalchemy import select

from tests.support import CHROMIUM, CHROMIUM_ARGS, OUTPUT, need_chromium, run_server
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.find import DEFAULT_THRESHOLD, find_duplicates
from vitrieve.tables.catalog import Root


def test_a_preference_picks_the_keeper_and_a_reference_root_is_never_planned(
    settings, photos, tmp_path
):
    need_chromium()
    from playwright.sync_api import expect, sync_playwright

    backup = photos / "backup"
    backup.mkdir()
    shutil.copy(photos / "coffee.jpg", backup / "coffee.jpg")
    st = (backup / "coffee.jpg").stat()
    os.utime(backup / "coffee.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 10**10))  # newer
    with Library(settings) as lib:
        ingest(lib, [photos])
        groups = find_duplicates(lib, threshold=DEFAULT_THRESHOLD).groups
        with lib.sessions() as session:
            root_id = session.scalars(select(Root.id)).one()
    coffee = next(g for g in groups if any(m.path == str(backup / "coffee.jpg") for m in g.members))
    assert coffee.keepers[0].path == str(photos / "coffee.jpg")  # the older file, by default
    copy_id = next(m.image_id for m in coffee.members if m.path == str(backup / "coffee.jpg"))
    OUTPUT.mkdir(parents=True, exist_ok=True)

    with run_server(settings.home, tmp_path) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(server.url + "/duplicates", wait_until="domcontentloaded")
            page.get_by_text("All groups", exact=True).click(timeout=120_000)  # the list view
            expect(page.locator(f".st-key-group-{coffee.group}")).to_be_visible(timeout=120_000)

            # A preference for the backup folder: the copy there becomes the keeper, the group
            # is named by it, and the reason names the rule.
            page.get_by_text("Keeper preferences").click()
            field = page.get_by_label("Prefer, first rule first", exact=True)
            field.fill(f"folder:{backup}")
            field.press("Enter")
            card = page.locator(f".st-key-group-{copy_id}")
            expect(card).to_be_visible(timeout=60_000)
            expect(card).to_contain_text(f"your preference 'folder:{backup}'")
            expect(page.locator(f".st-key-group-{coffee.group}")).to_have_count(0)
            page.screenshot(path=str(OUTPUT / "dups-keeper-preference.png"))

            # The whole root as a reference folder (Library page): every image is kept.
            page.goto(server.url + "/library", wait_until="domcontentloaded")
            row = page.locator(f".st-key-root-{root_id}")
            expect(row).to_be_visible(timeout=60_000)
            row.get_by_text("Reference", exact=True).click()
            expect(
                page.get_by_text("a reference folder, its images are always kept")
            ).to_be_visible(timeout=30_000)
            page.goto(server.url + "/duplicates", wait_until="domcontentloaded")
            page.get_by_text("All groups", exact=True).click(timeout=120_000)
            card = page.locator(f".st-key-group-{coffee.group}")
            expect(card).to_contain_text(
                "in reference folders duplicate each other", timeout=120_000
            )
            folder = page.get_by_label("Quarantine folder (outside every library root)", exact=True)
            folder.fill(str(tmp_path / "quarantine"))
            folder.press("Enter")
            page.get_by_text("Clean up every group, export, undo a quarantine").click()
            page.get_by_role("button", name="Plan the moves").click()
            expect(page.get_by_text("Nothing to move: only keepers are left here.")).to_be_visible(
                timeout=30_000
            )
            page.screenshot(path=str(OUTPUT / "dups-reference-root.png"), full_page=True)
        finally:
            browser.close()
    assert (backup / "coffee.jpg").exists() and (photos / "coffee.jpg").exists()

"""The search grid, stacks and the lightbox's keys in a real browser (headless Chromium against
`vitrieve ui`): the query photo above its results, every result's full path in its tooltip, a
burst kept as a stack shown as one cover with its count (which opens the stack), the arrow keys
stepping through the lightbox, and a small original shown at 100%, never blown up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OUTPUT,
    burst,
    need_chromium,
    real_photo,
    run_server,
    tiny_settings,
    write_photos,
)
from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import image_id_of_path
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.stacks import create_stack

SMALL = (160, 120)  # far smaller than the lightbox: shown at 100%


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """The real photos, a small one, and a burst of three shots kept as a stack (the sharp
    IMG_0001 its cover), ingested once for the module (its tests only read the library);
    returns the photo folder, the home beside it."""
    base = tmp_path_factory.mktemp("grid")
    photos = write_photos(base / "photos")
    real_photo("rocket").resize(SMALL).save(photos / "small-rocket.jpg", quality=90)
    burst(photos / "burst", real_photo("astronaut"), timedelta(seconds=1))
    with Library(_settings(base / "home")) as lib:
        ingest(lib, [photos])
        with lib.sessions.begin() as session:
            ids = [
                image_id_of_path(session, photos / "burst" / f"IMG_000{i}.jpg") for i in (1, 0, 2)
            ]
            create_stack(session, ids[0], ids)
    return photos


def _settings(home: Path) -> Settings:
    return tiny_settings(home)


@pytest.fixture(scope="module")
def browser(photos: Path, tmp_path_factory) -> Iterator[tuple[object, str]]:
    """One server and one Chromium for the module: (the browser, the server's address)."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    home = photos.parent / "home"
    with run_server(home, tmp_path_factory.mktemp("ui")) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser, server.url
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (its own Streamlit session) on the module's server."""
    chromium, url = browser
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    try:
        pg = context.new_page()
        pg.goto(url, wait_until="domcontentloaded")
        yield pg
    finally:
        context.close()


RESULTS = 7  # 6 real photos + the small one + the burst's cover, less the query


def _search_with_file(page, path: Path, results: int = RESULTS) -> list[str]:
    """Searches by a library file; returns the full paths of the result cards in order."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Pick from the library").click()
    page.get_by_label("Path of an image inside a registered root").fill(str(path))
    page.get_by_role("button", name="Search with this file").click()
    expect(page.get_by_text(f"Similar to {path}")).to_be_visible(timeout=60_000)
    expect(page.locator(".st-key-result-0")).to_be_visible()
    cards = page.locator("[class*='st-key-result-']")
    expect(cards).to_have_count(results)
    return [
        cards.nth(i).locator("img").first.get_attribute("alt") or "" for i in range(cards.count())
    ]


def test_the_grid_shows_the_query_and_each_results_full_name_on_hover(page, photos):
    from playwright.sync_api import expect

    query = photos / "trip" / "chelsea.png"
    paths = _search_with_file(page, query)
    shown = page.locator(".st-key-query-photo img")
    expect(shown).to_be_visible()
    assert (shown.get_attribute("alt") or "") == str(query)
    box = shown.bounding_box()
    assert box and box["width"] >= 150  # big enough to see, at the top of the results
    assert str(query) not in paths and len(paths) == len(set(paths)) > 5
    tooltip = page.get_by_test_id("stTooltipContent")
    for i, path in enumerate(paths):
        page.locator(f".st-key-result-{i}").hover()
        expect(tooltip).to_contain_text(path, timeout=10_000)  # the whole path, not cut off
        expect(tooltip).to_contain_text("similarity ")
        page.mouse.move(0, 0)
    # Justified: the thumbnails of the first row share one height, at their own widths.
    row = page.locator(
        "[data-testid='stHorizontalBlock']", has=page.locator(".st-key-result-0")
    ).last
    heights = [b["height"] for b in _boxes(row.locator("[class*='st-key-thumb-'] img"))]
    assert max(heights) - min(heights) <= 6, heights
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "search-justified-grid.png"))
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.screenshot(path=str(OUTPUT / "search-justified-grid-phone.png"))


def _boxes(locator) -> list[dict]:
    return [b for i in range(locator.count()) if (b := locator.nth(i).bounding_box())]


def test_a_stack_is_one_cover_with_its_count_and_opens_on_its_photos(page, photos):
    from playwright.sync_api import expect

    # A hidden member as the query: the other two shots are hits, shown as their cover.
    paths = _search_with_file(page, photos / "burst" / "IMG_0000.jpg", RESULTS + 1)
    burst = [p for p in paths if "/burst/" in p]
    assert burst == [str(photos / "burst" / "IMG_0001.jpg")]  # the cover only, once
    card = page.locator(f".st-key-result-{paths.index(burst[0])}")
    count = card.get_by_role("button", name="+2")
    expect(count).to_be_visible()
    count.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("1 of 3", timeout=30_000)
    expect(dialog.get_by_role("heading", name="IMG_0001.jpg")).to_be_visible()
    full = dialog.locator("img.vitrieve-full")
    expect(full).to_be_visible(timeout=30_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=full.element_handle())
    page.screenshot(path=str(OUTPUT / "stack-opened.png"))
    dialog.get_by_role("button", name="Next").click()
    expect(dialog).to_contain_text("2 of 3", timeout=30_000)
    expect(dialog.get_by_role("heading", name="IMG_0000.jpg")).to_be_visible()


def test_arrow_keys_step_through_the_lightbox_and_a_small_original_is_shown_at_100(page, photos):
    from playwright.sync_api import expect

    small = photos / "small-rocket.jpg"
    paths = _search_with_file(page, photos / "trip" / "rocket.png")
    at = paths.index(str(small))
    page.locator(f".st-key-result-{at}").get_by_role("button", name="Open").click()
    dialog = page.get_by_role("dialog")
    full = dialog.locator("img.vitrieve-full")
    expect(full).to_be_visible(timeout=30_000)
    expect(dialog.get_by_role("heading", name="small-rocket.jpg")).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=full.element_handle())
    box = full.bounding_box()
    assert box and (round(box["width"]), round(box["height"])) == SMALL  # 100%, not stretched
    caption = dialog.get_by_test_id("stCaptionContainer").first
    step, key, back = (
        (1, "ArrowRight", "ArrowLeft") if at + 1 < len(paths) else (-1, "ArrowLeft", "ArrowRight")
    )
    page.keyboard.press(key)
    expect(caption).to_have_text(paths[at + step], timeout=30_000)
    expect(dialog).to_contain_text(f"{at + step + 1} of {len(paths)}")
    page.keyboard.press(back)
    expect(caption).to_have_text(str(small), timeout=30_000)
    expect(dialog).to_contain_text(f"{at + 1} of {len(paths)}", timeout=30_000)
    expect(dialog).to_contain_text(f"{SMALL[0]}×{SMALL[1]}")  # the facts beside it, redrawn
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=full.element_handle())
    page.screenshot(path=str(OUTPUT / "lightbox-small-original.png"))

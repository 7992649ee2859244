"""Every page of the UI in a real browser (headless Chromium against one `vitrieve ui`), at a
laptop's 1440x900 and at a phone's 390x844: Search with a query and its results, Duplicates in
its default one-group review, Tags with a tagger just trained, Library and Status, on a small
library of real photos with duplicates.

Each page is saved whole to test-output/browser/<page>-1440.png and <page>-phone.png (what
scripts/readme_screenshot.py turns into the README's picture), and must show what a user came
for: no exception box, the page's main content, and on a phone no sideways scrolling and the
main photos and buttons within the screen's width.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OUTPUT,
    SCROLLER,
    need_chromium,
    noise_image,
    run_server,
    tiny_settings,
    write_copies_of_astronaut,
    write_photos,
)
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.tagging.train import train_from_folders

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
TALLEST = 8000  # px: a full-page picture stops there


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """Five real photos, ten files of the astronaut (byte copies, re-encodes, a crop, a WebP:
    the first duplicate group, named by its keeper) and label folders (noise/, photo/, copies
    of library photos, hence more groups) on which the tagger "scenes" is trained; returns
    VITRIEVE_HOME. The cat is left out: the tiny test model finds it "like" the coffee cup."""
    base = tmp_path_factory.mktemp("screens")
    photos = write_photos(base / "photos")
    (photos / "trip" / "chelsea.png").unlink()
    write_copies_of_astronaut(photos / "copies")
    labels = photos / "labels"
    (labels / "noise").mkdir(parents=True)
    (labels / "photo").mkdir()
    for i in range(3):
        noise_image(i).save(labels / "noise" / f"n{i}.jpg", quality=90)
    for name in ("trip/camera.png", "trip/rocket.png", "copies/astronaut-400.jpg"):
        shutil.copy(photos / name, labels / "photo" / Path(name).name)
    settings = tiny_settings(base / "home")
    with Library(settings) as lib:
        ingest(lib, [photos])
        train_from_folders(lib, "scenes", labels)
    return settings.home


@pytest.fixture(scope="module")
def browser_page(home: Path, tmp_path_factory) -> Iterator[tuple[object, str]]:
    """One server and one browser tab for every page: (the tab, the server's address)."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with run_server(home, tmp_path_factory.mktemp("ui")) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page(viewport=DESKTOP), server.url
        finally:
            browser.close()


def _images_loaded(page) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMain] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
        timeout=60_000,
    )


def _settled(page) -> None:
    """Streamlit done drawing: the script's run over (the app root says so), no element left
    stale, every photo loaded."""
    page.wait_for_function(
        "() => !!document.querySelector("
        "'[data-testid=stApp][data-test-script-state=notRunning]') &&"
        " !document.querySelector('[data-stale=\"true\"]')",
        timeout=60_000,
    )
    _images_loaded(page)


def _full_page_shot(page, path: Path, viewport: dict) -> None:
    """The whole main area, not just the first screen: the viewport grows to the scrolling
    container's height for the picture, then goes back."""
    page.evaluate(f"({SCROLLER})().scrollTop = 0")
    height = int(page.evaluate(f"({SCROLLER})().scrollHeight"))
    page.set_viewport_size({"width": viewport["width"], "height": min(TALLEST, height)})
    _images_loaded(page)
    page.screenshot(path=str(path))
    page.set_viewport_size(viewport)


def _overflow(page) -> int:
    """How far the page reaches past the screen's right edge, in CSS pixels: the document's
    and the main scrolling area's own sideways overflow."""
    return int(
        page.evaluate(
            f"""() => {{
              const s = ({SCROLLER})();
              return Math.max(document.documentElement.scrollWidth - window.innerWidth,
                              s.scrollWidth - s.clientWidth);
            }}"""
        )
    )


def _within_width(page, selector: str) -> list[str]:
    """The elements matching `selector` that stick out of the screen's width."""
    return page.evaluate(
        """sel => [...document.querySelectorAll(sel)]
             .filter(e => e.offsetParent !== null)
             .map(e => [e, e.getBoundingClientRect()])
             .filter(([e, r]) => r.left < -1 || r.right > window.innerWidth + 1)
             .map(([e, r]) => `${e.tagName} ${(e.innerText || e.alt || '').slice(0, 40)}`
                              + ` ${Math.round(r.left)}..${Math.round(r.right)}`)""",
        selector,
    )


def _search(page, url: str, home: Path) -> None:
    from playwright.sync_api import expect

    query = next(Path(home).parent.joinpath("photos", "trip").glob("rocket.*"))
    page.goto(url + "/", wait_until="domcontentloaded")
    page.get_by_role("tab", name="Pick from the library").click(timeout=60_000)
    page.get_by_label("Path of an image inside a registered root").fill(str(query))
    page.get_by_role("button", name="Search with this file").click()
    expect(page.get_by_text(f"Similar to {query}")).to_be_visible(timeout=60_000)
    expect(page.locator(".st-key-query-photo img")).to_be_visible()
    expect(page.locator(".st-key-result-0 img").first).to_be_visible()


def _duplicates(page, url: str, home: Path) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/duplicates", wait_until="domcontentloaded")
    review = page.locator(".st-key-dup-review")
    expect(review).to_contain_text("group 1 of", timeout=120_000)
    expect(review).to_contain_text("keeper (suggested)")
    expect(review.locator(".st-key-review-accept")).to_be_visible()


def _tags(page, url: str, home: Path) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/tags", wait_until="domcontentloaded")
    expect(page.get_by_role("button", name="Apply scenes v1 to the collection")).to_be_visible(
        timeout=60_000
    )


def _library(page, url: str, home: Path) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/library", wait_until="domcontentloaded")
    root = page.locator("[class*='st-key-root-']").first
    expect(root).to_be_visible(timeout=60_000)
    expect(root).to_contain_text(str(Path(home).parent / "photos"))


def _status(page, url: str, home: Path) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/status", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Status").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Model and index")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("heading", name="Workers and queues")).to_be_visible(timeout=60_000)


# page name, how to open it with its content, and what must stay within a phone's width.
PAGES: list[tuple[str, Callable, str]] = [
    ("search", _search, ".st-key-query-photo img, [class*='st-key-result-'] img"),
    ("duplicates", _duplicates, ".st-key-dup-review img, .st-key-dup-review button"),
    ("tags", _tags, "[data-testid=stMain] button"),
    ("library", _library, "[class*='st-key-root-']"),
    ("status", _status, "[data-testid=stMetric]"),
]


@pytest.mark.parametrize(("name", "opened", "main"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_at_1440_and_at_phone_width(browser_page, home, name, opened, main):
    from playwright.sync_api import expect

    page, url = browser_page
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    opened(page, url, home)
    _settled(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator(main).first).to_be_visible(timeout=30_000)
    _full_page_shot(page, OUTPUT / f"{name}-1440.png", DESKTOP)

    page.set_viewport_size(PHONE)  # and opened afresh, as a phone would: sidebar collapsed
    opened(page, url, home)
    _settled(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    _full_page_shot(page, OUTPUT / f"{name}-phone.png", PHONE)
    assert _overflow(page) <= 1, f"{name}: {_overflow(page)} px wider than a phone"
    assert _within_width(page, main) == [], f"{name}: cut off at the right edge of a phone"

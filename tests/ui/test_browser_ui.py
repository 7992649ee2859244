"""The photo-app side of the UI in a real browser (headless Chromium against `vitrieve ui`):
the lightbox at full resolution, the library picker bringing its results into view, removing
a root from the Library page, and no request of any page leaving loopback.

Every request the pages make is recorded (Playwright's request listener) and must go to
127.0.0.1 / localhost. Each interaction is timed from the click to the element it should
bring, and written to test-output/browser/timings.json; the numbers are reported, not
asserted (a loaded test machine says nothing about the UI's speed).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from PIL import Image

from tests.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OUTPUT,
    need_chromium,
    noise_image,
    real_photo,
    run_server,
    tiny_settings,
    write_photos,
)
from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import list_roots
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library

BIG = (1600, 1200)  # far larger than a 256 px thumbnail: what the lightbox shows is the file
IMAGES = 14  # in the photos fixture: 6 + 4 + 1 in the first root, 3 in the second
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TIMINGS: dict[str, list[float]] = {}


def big_photo_with_exif(path: Path) -> None:
    img = real_photo("chelsea").resize(BIG)
    exif = Image.Exif()
    exif[0x010F] = "TestMake"  # Make
    exif[0x0110] = "Lightbox 3000"  # Model
    exif.get_ifd(0x8769)[0x829A] = 1 / 250  # ExposureTime
    exif.get_ifd(0x8769)[0x829D] = 2.8  # FNumber
    img.save(path, quality=90, exif=exif)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """The six real photos, four generated ones and a big photo with EXIF in one root, and a
    second root of three generated images (for removal) beside it, ingested once for the
    module into the home beside them; returns the first root."""
    base = tmp_path_factory.mktemp("browser-ui")
    photos = write_photos(base / "photos")
    for i in range(4):
        noise_image(i).save(photos / f"generated-{i}.jpg", quality=90)
    big_photo_with_exif(photos / "big-cat.jpg")
    other = base / "second-root"
    other.mkdir()
    for i in range(3):
        noise_image(10 + i).save(other / f"other-{i}.jpg", quality=90)
    settings = tiny_settings(base / "home")
    with Library(settings) as lib:
        ingest(lib, [photos, other])
    return photos


@pytest.fixture(scope="module", autouse=True)
def timings_file() -> Iterator[None]:
    yield
    if TIMINGS:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        summary = {
            name: {"runs_s": [round(t, 3) for t in ts], "max_s": round(max(ts), 3)}
            for name, ts in sorted(TIMINGS.items())
        }
        (OUTPUT / "timings.json").write_text(json.dumps(summary, indent=2) + "\n")
        print("\ninteraction timings (click to element visible):", json.dumps(summary))


def timed(name: str, click, wait) -> None:
    """Runs click() then wait() (an expect on the element the click should bring) and records
    the seconds between."""
    start = time.perf_counter()
    click()
    wait()
    TIMINGS.setdefault(name, []).append(time.perf_counter() - start)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One headless Chromium for the module (each test gets its own context)."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def shared_url(photos: Path, tmp_path_factory) -> Iterator[str]:
    """One server for the tests that only read the library."""
    with run_server(photos.parent / "home", tmp_path_factory.mktemp("ui")) as server:
        yield server.url


@contextmanager
def _page(browser, url: str) -> Iterator[object]:
    """A page in a fresh browser context (its own session); after the test, every request it
    made must have gone to loopback."""
    hosts: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        context.on("request", lambda r: hosts.append(r.url))
        pg = context.new_page()
        pg.goto(url, wait_until="domcontentloaded")
        yield pg
    finally:
        context.close()
    outside = [u for u in hosts if not _local(u)]
    assert not outside, f"requests left the machine: {outside}"
    assert hosts, "the listener saw no request at all"


@pytest.fixture
def page(chromium, shared_url: str):
    """A page of the module's server (no password set), checked as `_page` says."""
    with _page(chromium, shared_url) as pg:
        yield pg


@pytest.fixture
def own_page(chromium, photos: Path, tmp_path: Path):
    """A page of a server of its own, on a copy of the module's home, for a test that changes
    the library: (the page, the copied home)."""
    home = Path(shutil.copytree(photos.parent / "home", tmp_path / "home"))
    with run_server(home, tmp_path) as server, _page(chromium, server.url) as pg:
        yield pg, home


def _local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob") or parts.hostname in LOOPBACK


def _search_with_file(page, path: Path) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Pick from the library").click()
    page.get_by_label("Path of an image inside a registered root").fill(str(path))
    timed(
        "search with a library path",
        lambda: page.get_by_role("button", name="Search with this file").click(),
        lambda: expect(page.get_by_text(f"Similar to {path}")).to_be_visible(timeout=60_000),
    )
    expect(page.locator(".st-key-result-0")).to_be_visible()


def _card_path(card) -> str:
    """A card shows no text: its thumbnail's alt (and its tooltip) is the full path."""
    return (card.locator("img").first.get_attribute("alt") or "").strip()


def test_the_lightbox_shows_the_original_at_full_resolution_with_exif_and_navigation(page, photos):
    from playwright.sync_api import expect

    big = photos / "big-cat.jpg"
    _search_with_file(page, photos / "trip" / "chelsea.png")  # the big cat is a copy of it
    cards = page.locator("[class*='st-key-result-']")
    expect(cards).to_have_count(IMAGES - 1)  # every image but the query itself
    paths = [_card_path(cards.nth(i)) for i in range(cards.count())]
    at = paths.index(str(big))
    dialog = page.get_by_role("dialog")
    full = dialog.locator("img.vitrieve-full")
    # The thumbnail is the button: an "Open" button laid over the whole picture.
    thumb = cards.nth(at).locator("img").first
    opener = cards.nth(at).get_by_role("button", name="Open")
    t, o = thumb.bounding_box(), opener.bounding_box()
    assert t and o and abs(t["x"] - o["x"]) < 2 and abs(t["width"] - o["width"]) < 2
    assert o["height"] >= t["height"] - 2
    timed(
        "open the lightbox",
        opener.click,
        lambda: expect(full).to_be_visible(timeout=30_000),
    )
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=full.element_handle())
    natural = full.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert natural == list(BIG)  # the original file, not a 256 px thumbnail
    src = full.get_attribute("src")
    assert src is not None and "/vitrieve/original/" in src and "/media/" not in src
    caption = dialog.get_by_test_id("stCaptionContainer").first
    assert caption.inner_text().strip() == str(big)
    expect(dialog).to_contain_text(f"{at + 1} of {len(paths)}")
    for fact in ("TestMake", "Lightbox 3000", "1/250 s", "f/2.8"):
        expect(dialog).to_contain_text(fact)
    expect(dialog.locator("a", has_text="Download original")).to_be_visible()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "lightbox.png"))

    # Next / Previous step through the grid the lightbox was opened from.
    step, button, back = (
        (1, "Next", "Previous") if at + 1 < len(paths) else (-1, "Previous", "Next")
    )
    timed(
        f"lightbox {button.lower()}",
        lambda: dialog.get_by_role("button", name=button).click(),
        lambda: expect(caption).to_have_text(paths[at + step], timeout=30_000),
    )
    expect(dialog).to_contain_text(f"{at + step + 1} of {len(paths)}")
    timed(
        f"lightbox {back.lower()}",
        lambda: dialog.get_by_role("button", name=back).click(),
        lambda: expect(caption).to_have_text(str(big), timeout=30_000),
    )

    # "More like this" inside the lightbox closes it and searches by that picture.
    timed(
        "more like this from the lightbox",
        lambda: dialog.get_by_role("button", name="More like this").click(),
        lambda: expect(page.get_by_text(f"Similar to {big}")).to_be_visible(timeout=30_000),
    )
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_a_picture_chosen_in_the_library_picker_shows_its_results_in_view(page, photos):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Pick from the library").click()
    last = page.locator(".st-key-pick-10")  # the eleventh card: far below the top of the page
    expect(last).to_be_visible(timeout=60_000)
    last.scroll_into_view_if_needed()
    last.hover()  # its actions show on hover
    chosen = _card_path(last)
    results = page.locator(".st-key-result-0")
    timed(
        "search with a picked picture",
        lambda: last.get_by_role("button", name="Search with this").click(),
        lambda: expect(page.get_by_text(f"Similar to {chosen}")).to_be_in_viewport(timeout=60_000),
    )
    expect(results).to_be_visible()
    expect(results).to_be_in_viewport()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "picker-results-in-view.png"))


def test_removing_a_root_from_the_library_page(own_page, photos):
    from playwright.sync_api import expect

    page, home = own_page
    settings = Settings(home=home)
    other = str(photos.parent / "second-root")
    with Library(settings) as lib:
        (root,) = [r for r in list_roots(lib.sessions) if r.path == other]
    timed(
        "open the Library page",
        lambda: page.get_by_role("link", name="Library").click(),
        lambda: expect(page.locator(f".st-key-root-{root.id}")).to_be_visible(timeout=60_000),
    )
    card = page.locator(f".st-key-root-{root.id}")
    expect(card).to_contain_text(other)
    expect(page.get_by_text("nothing watches these folders")).to_be_visible()
    card.get_by_role("button", name="Remove").click()
    confirm = page.get_by_role("button", name="Remove this root")
    expect(confirm).to_be_visible()
    page.screenshot(path=str(OUTPUT / "library-remove-root.png"))
    timed(
        "remove a root",
        confirm.click,
        lambda: expect(page.get_by_text(f"Removed root {other}: 3 images left")).to_be_visible(
            timeout=60_000
        ),
    )
    expect(card).to_have_count(0)
    with Library(settings) as lib:
        assert [r.path for r in list_roots(lib.sessions)] == [str(Path(other).parent / "photos")]
    assert all((photos.parent / "second-root" / f"other-{i}.jpg").is_file() for i in range(3))
    page.screenshot(path=str(OUTPUT / "library-root-removed.png"), full_page=True)


def test_no_page_fetches_anything_from_outside_the_machine(page):
    """Every page, the favicon included (a material-icon page icon would come from a font
    host). The page fixture asserts the hosts of all requests after the visit."""
    from playwright.sync_api import expect

    for name, heading in [
        ("Duplicates", "Duplicates"),
        ("Tags", "Tags"),
        ("Library", "Library"),
        ("Status", "Status"),
        ("Search", "Search by example"),
    ]:
        timed(
            f"open the {name} page",
            lambda n=name: page.get_by_role("link", name=n).click(),
            lambda h=heading: expect(page.get_by_role("heading", name=h).first).to_be_visible(
                timeout=60_000
            ),
        )
    icon = page.locator("link[rel='shortcut icon']").get_attribute("href")
    assert icon is not None and _local(urljoin(page.url, icon)), icon
    page.wait_for_load_state("networkidle")

"""The UI in a real browser: `vitrieve ui` on a free loopback port, driven by headless Chromium.

Needs Debian's chromium at /usr/bin/chromium (scripts/test.sh installs it). Without it the test
is skipped locally and fails under CI, so CI can never silently skip it. The screenshot lands in
<repo>/test-output/browser/ (kept after the run; the folder is git-ignored).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OUTPUT,
    need_chromium,
    noise_image,
    real_photo,
    run_server,
)
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library


@pytest.fixture
def library_home(settings, photos) -> Path:
    """The six real photos and four generated ones, ingested; returns VITRIEVE_HOME."""
    for i in range(4):
        noise_image(i).save(photos / f"generated-{i}.jpg", quality=90)
    with Library(settings) as lib:
        ingest(lib, [photos])
    return settings.home


@pytest.fixture
def server(library_home, tmp_path) -> Iterator[str]:
    with run_server(library_home, tmp_path) as live:
        yield live.url


def test_uploading_a_reencoded_photo_shows_its_original_first(server, photos, tmp_path):
    need_chromium()
    from playwright.sync_api import expect, sync_playwright

    query = tmp_path / "query" / "cat-from-phone.jpg"
    query.parent.mkdir()
    real_photo("chelsea").save(query, quality=70)  # re-encoded, outside the library
    original = str(photos / "trip" / "chelsea.png")

    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "search-results.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server, wait_until="domcontentloaded")
            page.locator("input[type=file]").first.set_input_files(str(query))

            first = page.locator(".st-key-result-0")
            expect(first).to_be_visible(timeout=120_000)
            expect(first).to_contain_text("same photo")  # the score in words on the badge
            thumb = first.locator("img").first
            expect(thumb).to_have_attribute("alt", original)  # the full path: alt and hover
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
            )
            expect(page.locator("[class*='st-key-result-']").nth(5)).to_be_visible()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    print(f"\nscreenshot: {shot}")
    assert shot.stat().st_size > 10_000


PASSWORD = "s3cret-phrase"


def _log_in(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("heading", name="Search by example")).to_be_visible(timeout=60_000)


def _open_first_result(page, query: Path) -> tuple[str, Path]:
    """Searches with a library file and opens the first hit: its download link and file."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Pick from the library").click()
    page.get_by_label("Path of an image inside a registered root").fill(str(query))
    page.get_by_role("button", name="Search with this file").click()
    first = page.locator(".st-key-result-0")
    expect(first).to_be_visible(timeout=60_000)
    first.get_by_role("button", name="Open").click()
    dialog = page.get_by_role("dialog")
    link = dialog.locator("a", has_text="Download original")
    expect(link).to_be_visible(timeout=30_000)
    shown = dialog.get_by_test_id("stCaptionContainer").first.inner_text()
    return link.get_attribute("href"), Path(shown.strip())


def test_download_original_serves_this_browser_only_while_the_view_lasts(
    library_home, photos, tmp_path
):
    """The file reaches the logged-in browser it was offered to, and nobody else: not a plain
    request, not another browser, not this one after the page moved on or the tab closed.
    Nothing of it ever goes through Streamlit's open /media endpoint."""
    need_chromium()
    from playwright.sync_api import expect, sync_playwright

    secrets = f'password = "{PASSWORD}"\n'
    with run_server(library_home, tmp_path, secrets=secrets) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(accept_downloads=True)
            page = context.new_page()
            media: list[bytes] = []
            page.on(
                "response",
                lambda r: media.append(r.body()) if "/media/" in r.url else None,
            )
            _log_in(page, server.url)
            href, original = _open_first_result(page, photos / "coffee.jpg")
            OUTPUT.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUTPUT / "download-dialog.png"))
            assert original.is_file() and original.parent.is_relative_to(photos)
            data = original.read_bytes()

            # This browser: the file, as an attachment (a real click downloads it too).
            got = context.request.get(server.url + href)
            assert (got.status, got.body()) == (200, data)
            assert got.headers["content-disposition"].startswith("attachment")
            with page.expect_popup() as popup, context.expect_event("download") as dl:
                page.get_by_role("dialog").locator("a", has_text="Download original").click()
            saved = tmp_path / "downloaded"
            dl.value.save_as(saved)
            assert saved.read_bytes() == data
            popup.value.close()

            # Anyone else with the URL: a plain request, another browser's cookie.
            refusal = server.get(href)
            assert refusal[0] == 404
            stranger = browser.new_context()
            other_page = stranger.new_page()
            other_page.goto(server.url, wait_until="domcontentloaded")
            expect(other_page.get_by_label("Password", exact=True)).to_be_visible(timeout=60_000)
            assert stranger.cookies() and stranger.request.get(server.url + href).status == 404
            assert stranger.request.get(server.url + href).body() == refusal[1]
            stranger.close()

            # This browser once the page moved on (a new run ends the view's links).
            page.keyboard.press("Escape")
            page.get_by_role("button", name="Clear query").click()
            expect(page.locator(".st-key-result-0")).to_have_count(0, timeout=30_000)
            gone = context.request.get(server.url + href)
            assert (gone.status, gone.body()) == refusal

            # ... and once its tab is closed (the session ends), even within the TTL.
            href2, _ = _open_first_result(page, photos / "coffee.jpg")
            assert context.request.get(server.url + href2).status == 200
            page.close()
            deadline = time.monotonic() + 20  # the server notices the closed websocket
            while context.request.get(server.url + href2).status != 404:
                assert time.monotonic() < deadline, "the link outlived its tab"
                time.sleep(0.2)
            assert all(body != data for body in media)
        finally:
            browser.close()

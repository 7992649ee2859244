"""The UI in a real browser: `vitrieve ui` on a free loopback port, driven by headless Chromium.

Needs Debian's chromium at /usr/bin/chromium (scripts/test.sh installs it). Without it the test
is skipped locally and fails under CI, so CI can never silently skip it. The screenshot lands in
<repo>/test-output/browser/ (kept after the run; the folder is git-ignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.ingest import ingest
from indexer.library import Library
from tests.conftest import TINY_VIT, noise_image, real_photo

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).parents[2]
OUTPUT = REPO / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: run the suite via scripts/test.sh")
        pytest.skip(f"{CHROMIUM} not installed (scripts/test.sh installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"vitrieve ui exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.25)
    pytest.fail(f"vitrieve ui did not answer within {timeout:.0f} s:\n{log.read_text()}")


@pytest.fixture
def server(settings, photos, tmp_path) -> Iterator[str]:
    for i in range(4):
        noise_image(i).save(photos / f"generated-{i}.jpg", quality=90)
    with Library(settings) as lib:
        ingest(lib, [photos])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VITRIEVE_", "STREAMLIT_"))}
    env |= {
        "VITRIEVE_HOME": str(settings.home),
        "VITRIEVE_MODEL": str(TINY_VIT),
        "VITRIEVE_PRECISION": "fp32",
        "HOME": str(tmp_path / "user"),  # no ~/.streamlit secrets or config of the developer
    }
    (tmp_path / "user").mkdir()
    port = _free_port()
    log = tmp_path / "ui.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "ui", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_uploading_a_reencoded_photo_shows_its_original_first(server, photos, tmp_path):
    _need_chromium()
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
            expect(first).to_contain_text(original)
            thumb = first.locator("img").first
            expect(thumb).to_have_attribute("alt", original)
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
            )
            expect(page.locator("[class*='st-key-result-']").nth(5)).to_be_visible()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    print(f"\nscreenshot: {shot}")
    assert shot.stat().st_size > 10_000

"""The headless Chromium the browser tests drive (installed by scripts/test.sh)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.cli import REPO

CHROMIUM = Path("/usr/bin/chromium")
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


def need_chromium() -> None:
    """Skips without Chromium locally; fails under CI, which must never skip it."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: run the suite via scripts/test.sh")
        pytest.skip(f"{CHROMIUM} not installed (scripts/test.sh installs it)")


# The element that scrolls the page's main area (Streamlit scrolls a container, not the window,
# and the sidebar scrolls on its own): the nearest scrolling ancestor of the main block.
SCROLLER = """() => {
  let e = document.querySelector('[data-testid="stMainBlockContainer"]');
  for (; e; e = e.parentElement) {
    const s = getComputedStyle(e).overflowY;
    if (s === 'auto' || s === 'scroll') return e;
  }
  return document.scrollingElement;
}"""


def scroll_top(page) -> float:
    """How far the page is scrolled, in CSS pixels."""
    return float(page.evaluate(f"({SCROLLER})().scrollTop"))


def scroll_to(page, y: float) -> float:
    """Scrolls the page to `y` (as far as it goes) and says where it ended."""
    return float(
        page.evaluate(
            f"y => {{ const e = ({SCROLLER})(); e.scrollTop = y; return e.scrollTop; }}", y
        )
    )


def page_runs(page) -> str | None:
    """The Duplicates page's full-run mark (ui/app_pages/duplicates.py): it changes only when
    the whole page reran, never when a fragment did."""
    mark = page.locator("span.vitrieve-page-run")
    return mark.get_attribute("data-run") if mark.count() else None

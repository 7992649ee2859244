"""The Duplicates page shows the threshold rather than telling it, in a real browser on a live
`vitrieve ui`: on a calibrated library (210 real photos, the tiny ViT, calibrated with a 5%
false-rate target so that balanced and loose group differently) the measured distributions
are drawn, the sidebar says which threshold is in force and why, and choosing another
strictness regroups the photos.

Screenshots land in <repo>/test-output/browser/ (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OUTPUT,
    TINY_VIT,
    need_chromium,
    run_server,
    write_dup_set,
)
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.calibrate import calibrate
from vitrieve.search.duplicates.curve import Calibration
from vitrieve.search.duplicates.find import find_duplicates


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> tuple[Path, Calibration, dict[str, int]]:
    """The library, its calibration (every photo sampled; a 5% balanced target, loose 25%: at
    the default 1% few enough photos can show a false grouping at these cosines that the
    levels meet) and the number of groups the page should show at each strictness."""
    base = tmp_path_factory.mktemp("calibrated")
    write_dup_set(base / "photos")
    settings = Settings(
        home=base / "home",
        model=str(TINY_VIT),
        precision="fp32",
        runtime="torch",
        batch_size=32,
        calibration_false_rate=0.05,
    )
    with Library(settings) as lib:
        ingest(lib, [base / "photos"])
        cal = calibrate(lib, images=200)
        groups = {
            s: len(find_duplicates(lib, threshold=t).groups) for s, t in cal.thresholds.items()
        }
    assert groups["loose"] != groups["balanced"], (cal.thresholds, groups)
    return settings.home, cal, groups


def test_the_distributions_are_drawn_and_strictness_regroups(calibrated, tmp_path):
    need_chromium()
    from playwright.sync_api import expect, sync_playwright

    home, cal, groups = calibrated
    OUTPUT.mkdir(parents=True, exist_ok=True)

    def shown_groups(n: int):
        return page.locator("strong", has_text=re.compile(rf"^{n} groups$"))

    with run_server(home, tmp_path) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(server.url + "/duplicates", wait_until="domcontentloaded")
            expect(shown_groups(groups["balanced"])).to_be_visible(timeout=120_000)
            sidebar = page.locator("[data-testid='stSidebar']")
            expect(sidebar).to_contain_text(cal.describe("balanced"))

            # The plot: a Vega chart (the distributions and the threshold rules) and the table.
            panel = page.locator(".st-key-dup-calibration")
            chart = panel.locator("[data-testid='stVegaLiteChart']")
            expect(chart).to_be_visible(timeout=30_000)
            expect(chart.locator("canvas, svg").first).to_be_visible(timeout=30_000)
            assert chart.bounding_box()["height"] > 200
            expect(panel).to_contain_text(f"Measured on {cal.sample_size} of your photos")
            expect(panel.locator("[data-testid='stDataFrame']")).to_be_visible()
            page.screenshot(path=str(OUTPUT / "dups-calibration.png"), full_page=True)

            # Loose: its threshold is in force, said in the sidebar, and the groups follow.
            sidebar.get_by_text("loose", exact=True).click()
            expect(shown_groups(groups["loose"])).to_be_visible(timeout=60_000)
            expect(sidebar).to_contain_text(cal.describe("loose"))
            expect(shown_groups(groups["balanced"])).to_have_count(0)

            # Back to balanced: the first grouping again.
            sidebar.get_by_text("balanced", exact=True).click()
            expect(shown_groups(groups["balanced"])).to_be_visible(timeout=60_000)
            page.screenshot(path=str(OUTPUT / "dups-calibration-balanced.png"), full_page=True)
        finally:
            browser.close()

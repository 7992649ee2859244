"""The Duplicates page in a real browser (headless Chromium on a live `vitrieve ui`): groups
reviewed one at a time by keyboard alone (keep photo 2, back, undo, accept and next, not
duplicates, undo, quarantine, undo), each decision redrawing only the review, never the page,
with the scroll position kept; and in the list of all groups, a group of ten or eleven files of
one photo reviewed whole, one member compared with its keeper at full resolution, just that
group quarantined, and the move undone byte for byte.

Screenshots land in <repo>/test-output/browser/ (git-ignored).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OUTPUT,
    need_chromium,
    page_runs,
    run_server,
    scroll_to,
    scroll_top,
    write_copies_of_astronaut,
)
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.decisions import keeper_ids
from vitrieve.search.duplicates.find import DEFAULT_THRESHOLD, find_duplicates
from vitrieve.search.duplicates.groups import DupGroup
from vitrieve.ui.views.dups import ordered_members


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def all_groups(settings, photos) -> list[DupGroup]:
    """The library photos plus ten astronaut copies and a byte copy of coffee, ingested; the
    groups in the order the page shows them at the default threshold."""
    write_copies_of_astronaut(photos / "copies")
    shutil.copy(photos / "coffee.jpg", photos / "trip" / "coffee-copy.jpg")
    with Library(settings) as lib:
        ingest(lib, [photos])
        return find_duplicates(lib, threshold=DEFAULT_THRESHOLD).groups


@pytest.fixture
def dup_home(settings, all_groups) -> tuple[Path, DupGroup, list[DupGroup]]:
    """The astronaut group and the other groups."""
    groups = all_groups
    big = [g for g in groups if len(g.members) > 6]
    assert len(big) == 1 and len(big[0].members) >= 10, [len(g.members) for g in groups]
    return settings.home, big[0], [g for g in groups if g is not big[0]]


def test_a_big_group_is_reviewed_compared_quarantined_alone_and_undone(dup_home, tmp_path):
    need_chromium()
    from playwright.sync_api import expect, sync_playwright

    home, group, others = dup_home
    gid = group.group
    keeper = group.keepers[0]
    smaller = next(m for m in group.members if Path(m.path).name == "astronaut-400.jpg")
    moving = [Path(m.path) for m in group.others]
    untouched = [Path(m.path) for g in others for m in g.members] + [Path(keeper.path)]
    before = {p: _digest(p) for p in moving + untouched}
    dest = tmp_path / "quarantine"
    OUTPUT.mkdir(parents=True, exist_ok=True)

    with run_server(home, tmp_path) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(server.url + "/duplicates", wait_until="domcontentloaded")
            page.get_by_text("All groups", exact=True).click(timeout=120_000)
            card = page.locator(f".st-key-group-{gid}")
            expect(card).to_be_visible(timeout=120_000)

            # Every member is on the page, keeper first; none is left for an export to tell.
            members = card.locator(f"[class*='st-key-member-{gid}-']")
            expect(members).to_have_count(len(group.members), timeout=30_000)
            expect(members.first).to_contain_text(keeper.path)
            expect(members.first).to_contain_text("keeper (suggested)")
            for m in group.members:
                expect(card.locator(f".st-key-member-{gid}-{m.image_id}")).to_contain_text(m.path)
            expect(card).not_to_contain_text("more (see the export)")

            # Compare at full resolution: the originals themselves, not the 256 px thumbnails.
            card.locator(f".st-key-member-{gid}-{smaller.image_id}").get_by_role(
                "button", name="Compare with keeper"
            ).click()
            shown = page.locator(f".st-key-compare-{gid} img.vitrieve-original")
            expect(shown).to_have_count(2, timeout=30_000)
            widths = {}
            for role in ("keeper", "member"):
                img = page.locator(f".st-key-compare-{gid} img[data-role={role}]")
                page.wait_for_function(
                    "img => img.complete && img.naturalWidth > 0", arg=img.element_handle()
                )
                widths[role] = img.evaluate("img => img.naturalWidth")
            assert (
                widths
                == {"keeper": keeper.width, "member": smaller.width}
                == {
                    "keeper": 512,
                    "member": 400,
                }
            )
            page.screenshot(path=str(OUTPUT / "dups-compare.png"), full_page=True)

            # Quarantine just this group: a dry run first, then the move after confirmation.
            folder = page.get_by_label("Quarantine folder (outside every library root)", exact=True)
            folder.fill(str(dest))
            folder.press("Enter")
            card.get_by_role("button", name="Quarantine this group").click()
            expect(card).to_contain_text(f"Dry run: {len(moving)} files", timeout=30_000)
            expect(card).to_contain_text("Nothing has moved yet")
            assert all(p.exists() for p in moving)
            expect(card.get_by_text(f"Move these {len(moving)} files")).to_be_visible()
            card.get_by_text(f"Move these {len(moving)} files").scroll_into_view_if_needed()
            page.screenshot(path=str(OUTPUT / "dups-dry-run.png"))
            card.get_by_text(f"Move these {len(moving)} files").click()
            card.get_by_role("button", name=f"Move {len(moving)} files").click()
            expect(page.get_by_text(f"Moved {len(moving)} files to")).to_be_visible(timeout=60_000)
            expect(page.locator(f".st-key-group-{gid}")).to_have_count(0)
            page.screenshot(path=str(OUTPUT / "dups-quarantined.png"), full_page=True)
            assert not any(p.exists() for p in moving)
            assert len([f for f in dest.rglob("*") if f.is_file()]) == len(moving)
            assert all(_digest(p) == before[p] for p in untouched)  # other groups untouched

            # Undo puts every file back, byte-identical, and the group returns whole.
            page.get_by_role("button", name="Undo this move").click()
            expect(page.get_by_text(f"Restored {len(moving)} files")).to_be_visible(timeout=60_000)
            expect(page.locator(f".st-key-group-{gid} [class*='st-key-member-']")).to_have_count(
                len(group.members), timeout=30_000
            )
            page.screenshot(path=str(OUTPUT / "dups-undone.png"), full_page=True)
        finally:
            browser.close()
    assert {p: _digest(p) for p in moving + untouched} == before
    assert not [f for f in dest.rglob("*") if f.is_file()]


# The review drawn whole: its buttons there and nothing left of the previous draw (Streamlit
# marks those stale until they are replaced or removed).
SETTLED = """() => {
  const r = document.querySelector('.st-key-dup-review');
  return !!r && !!r.querySelector('.st-key-review-next') && !r.querySelector('[data-stale="true"]');
}"""


def _keepers(settings) -> set[int]:
    with Library(settings) as lib, lib.sessions() as session:
        return keeper_ids(session)


def test_groups_are_reviewed_by_keyboard_in_place(settings, all_groups, tmp_path):
    """Every decision by key, each redrawing only the review: the page's full-run mark and the
    scroll position stay as they were."""
    need_chromium()
    from playwright.sync_api import expect, sync_playwright

    groups = all_groups
    n = len(groups)
    assert n >= 3, [len(g.members) for g in groups]
    first, second = groups[0], groups[1]
    second_keeper = second.keepers[0]
    moving = {Path(m.path): _digest(Path(m.path)) for m in second.others}
    dest = tmp_path / "quarantine"
    OUTPUT.mkdir(parents=True, exist_ok=True)

    with run_server(settings.home, tmp_path) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(server.url + "/duplicates", wait_until="domcontentloaded")
            review = page.locator(".st-key-dup-review")
            expect(review).to_contain_text(f"group 1 of {n}", timeout=120_000)
            photo = f".st-key-review-photo-{first.keepers[0].image_id}"
            expect(review.locator(photo)).to_contain_text("keeper (suggested)")
            expect(review.locator(photo)).to_contain_text(Path(first.keepers[0].path).name)
            expect(review.locator(".st-key-review-accept")).to_be_visible()
            page.wait_for_function(SETTLED, timeout=60_000)
            page.wait_for_function(
                "n => { const i = [...document.querySelectorAll('.st-key-dup-review img')];"
                " return i.length >= n && i.every(i => i.complete && i.naturalWidth > 0); }",
                arg=len(first.members),
                timeout=60_000,
            )
            page.screenshot(path=str(OUTPUT / "dups-review.png"))
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(OUTPUT / "dups-review-phone.png"), full_page=True)
            page.set_viewport_size({"width": 1440, "height": 640})

            first_run = page_runs(page)
            assert first_run is not None
            folder = page.get_by_label("Quarantine folder (outside every library root)", exact=True)
            folder.fill(str(dest))
            folder.press("Enter")  # a sidebar widget: a full run, before the mark is read
            mark = page.locator("span.vitrieve-page-run")
            expect(mark).not_to_have_attribute("data-run", first_run, timeout=30_000)
            expect(review).to_contain_text(f"group 1 of {n}", timeout=30_000)
            page.evaluate("document.activeElement.blur()")
            runs = page_runs(page)
            assert runs is not None
            top = scroll_to(page, 60)

            def key(name: str, shows: str) -> None:
                page.keyboard.press(name)
                expect(review).to_contain_text(shows, timeout=30_000)
                page.wait_for_function(SETTLED, timeout=30_000)  # drawn whole: keys act again
                assert page_runs(page) == runs, f"{name}: the whole page reran"
                assert scroll_top(page) == top, f"{name}: the page scrolled"

            # 2: photo 2 of group 1 is its keeper; the next group shows.
            chosen = ordered_members(first)[1]
            key("2", f"group 2 of {n}")
            assert _keepers(settings) == {chosen.image_id}
            expect(review).to_contain_text(f"Kept {Path(chosen.path).name}.")
            # Back: group 1 as decided, the chosen photo its keeper by the user's choice.
            key("ArrowLeft", f"group 1 of {n}")
            expect(review.locator(f".st-key-review-photo-{chosen.image_id}")).to_contain_text(
                "keeper (your choice)"
            )
            # U takes it back; A accepts the suggestion instead and goes on.
            key("u", "keeper (suggested)")
            assert _keepers(settings) == set()
            key("a", f"group 2 of {n}")
            assert _keepers(settings) == {first.keepers[0].image_id}

            # N: group 2 is not duplicates, the next group takes its place; U brings it back.
            key("n", f"group 2 of {n - 1}")
            expect(review.locator(f".st-key-review-photo-{second_keeper.image_id}")).to_have_count(
                0
            )
            key("u", f"group 2 of {n}")
            expect(review.locator(f".st-key-review-photo-{second_keeper.image_id}")).to_be_visible()

            # H: the keys.
            key("h", "next / previous group")

            # Q: a dry run (nothing moves), M moves, U puts the files back byte for byte.
            key("q", f"Dry run: {len(moving)} file")
            assert all(p.exists() for p in moving)
            expect(review.locator(".st-key-review-move")).to_be_visible()
            key("m", f"group 2 of {n - 1}")
            assert not any(p.exists() for p in moving)
            key("u", f"group 2 of {n}")
            assert {p: _digest(p) for p in moving} == moving
            key("ArrowRight", f"group 3 of {n}")
        finally:
            browser.close()

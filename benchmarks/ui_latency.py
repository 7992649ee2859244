"""UI interaction time in a real browser: a 10k-image library against a 10-image one.

Each library is served by a real `vitrieve ui` (tests/support/live.py) and driven by headless
Chromium (/usr/bin/chromium via Playwright). An interaction is timed from the click to the
element it should bring being visible (Playwright's expect): what a user waits for, Streamlit's
websocket round trip and the page's redraw included.

The large library is the small one (real photos, ingested with the tiny test ViT) plus N
synthetic catalog rows in a second root, inserted directly: their vectors are the real ones
plus noise, their thumbnails the real ones' (shared content hash), so every grid draws as in
a real collection. Their files do not exist, which no measured interaction reads.

Reported per interaction: the median of --repeats runs for each library and the ratio
large / small (1.0 = the library's size costs nothing). The target (docs/BENCHMARKS.md) is
under 1 s per interaction at 10k images; nothing here asserts it.

Usage: python -m benchmarks.ui_latency [--n 10000] [--repeats 3]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.common import SEED, emit, log, machine

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def build_small(work: Path) -> tuple[Path, Path]:
    """The test suite's photo tree (six real photos, four generated), ingested."""
    from tests.support import TINY_VIT, noise_image, write_photos
    from vitrieve.core.config import Settings
    from vitrieve.indexer.ingest import ingest
    from vitrieve.indexer.library import Library

    photos = write_photos(work / "a-photos")
    for i in range(4):
        noise_image(i).save(photos / f"generated-{i}.jpg", quality=90)
    settings = Settings(home=work / "home", model=str(TINY_VIT), precision="fp32", runtime="torch")
    with Library(settings) as lib:
        ingest(lib, [photos])
    return settings.home, photos


def add_synthetic(home: Path, work: Path, n: int) -> None:
    """N catalog rows + vectors in a second root, copying the real rows' thumbnails."""
    from sqlalchemy import insert, select

    from tests.support import TINY_VIT
    from vitrieve.core.config import Settings
    from vitrieve.indexer.catalog import decode_vectors, encode_vector
    from vitrieve.indexer.library import Library
    from vitrieve.tables.catalog import Embedding, Image, ImageStatus, Root

    settings = Settings(home=home, model=str(TINY_VIT), precision="fp32", runtime="torch")
    rng = np.random.default_rng(SEED)
    folder = work / "b-synthetic"
    folder.mkdir()
    with Library(settings) as lib:
        model = lib.model_row
        with lib.sessions.begin() as s:
            real = s.execute(
                select(Image.content_hash, Image.width, Image.height, Image.format, Image.size)
                .where(Image.status == ImageStatus.EMBEDDED)
                .order_by(Image.id)
            ).all()
            blobs = dict(s.execute(select(Embedding.content_hash, Embedding.vector)).all())
            base = decode_vectors([blobs[r.content_hash] for r in real], model.dim)
            root_id = s.scalar(insert(Root).values(path=str(folder)).returning(Root.id))
            now = datetime.now(UTC)
            for start in range(0, n, 2000):
                count = min(2000, n - start)
                picks = rng.integers(0, len(real), count)
                noisy = base[picks] + rng.normal(0, 0.35, (count, model.dim)).astype(np.float32)
                noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
                rows = [
                    {
                        "root_id": root_id,
                        "rel_path": f"{(start + i) // 500:03d}/img-{start + i:06d}.jpg",
                        "size": real[p].size,
                        "mtime_ns": 1_600_000_000_000_000_000 + (start + i) * 10**9,
                        "content_hash": real[p].content_hash,
                        "width": real[p].width,
                        "height": real[p].height,
                        "format": real[p].format,
                        "status": ImageStatus.EMBEDDED,
                        "updated_at": now,
                    }
                    for i, p in enumerate(picks)
                ]
                ids = s.scalars(insert(Image).returning(Image.id), rows).all()
                s.execute(
                    insert(Embedding),
                    [
                        {
                            "image_id": image_id,
                            "model_id": model.id,
                            "content_hash": rows[i]["content_hash"],
                            "vector": encode_vector(noisy[i]),
                        }
                        for i, image_id in enumerate(ids)
                    ],
                )
        lib.index()  # the index notices SQL has more ids and rebuilds (not timed: done once)


def measure(home: Path, photos: Path, work: Path, repeats: int) -> dict[str, float]:
    from playwright.sync_api import expect, sync_playwright

    from tests.support import run_server

    times: dict[str, list[float]] = {}

    def timed(name: str, click: Callable[[], object], wait: Callable[[], object]) -> None:
        start = time.perf_counter()
        click()
        wait()
        times.setdefault(name, []).append(time.perf_counter() - start)

    with run_server(home, work / "server") as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(server.url, wait_until="domcontentloaded")
            expect(page.get_by_role("heading", name="Search by example")).to_be_visible(
                timeout=120_000
            )
            # A warm-up round (imports, first index load), then the measured ones.
            for round_ in range(repeats + 1):
                _round(page, photos, timed if round_ else _untimed)
        finally:
            browser.close()
    return {name: statistics.median(ts) for name, ts in times.items()}


def _untimed(name: str, click: Callable[[], object], wait: Callable[[], object]) -> None:
    click()
    wait()


def _round(page, photos: Path, timed) -> None:
    from playwright.sync_api import expect

    long = 60_000
    page.get_by_role("tab", name="Pick from the library").click()
    query = photos / "coffee.jpg"
    page.get_by_label("Path of an image inside a registered root").fill(str(query))
    timed(
        "search with a typed library path",
        lambda: page.get_by_role("button", name="Search with this file").click(),
        lambda: expect(page.get_by_text(f"Similar to {query}")).to_be_visible(timeout=long),
    )
    pick = page.locator(".st-key-pick-3")
    pick.scroll_into_view_if_needed()
    pick.hover()
    chosen = pick.get_by_test_id("stCaptionContainer").first.inner_text().strip()
    timed(
        "search with a picked picture",
        lambda: pick.get_by_role("button", name="Search with this").click(),
        lambda: expect(page.get_by_text(f"Similar to {chosen}")).to_be_in_viewport(timeout=long),
    )
    dialog = page.get_by_role("dialog")
    full = dialog.locator("img.vitrieve-full")
    timed(
        "open the lightbox (a real photo)",
        lambda: page.locator(".st-key-pick-0").get_by_role("button", name="Open").click(),
        lambda: expect(full).to_be_visible(timeout=long),
    )
    caption = dialog.get_by_test_id("stCaptionContainer").first
    before = caption.inner_text()
    timed(
        "lightbox next",
        lambda: dialog.get_by_role("button", name="Next").click(),
        lambda: expect(caption).not_to_have_text(before, timeout=long),
    )
    shown = caption.inner_text().strip()
    timed(
        "more like this from the lightbox",
        lambda: dialog.get_by_role("button", name="More like this").click(),
        lambda: expect(page.get_by_text(f"Similar to {shown}")).to_be_visible(timeout=long),
    )
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=long)
    first = page.locator(".st-key-result-0")
    target = first.get_by_test_id("stCaptionContainer").first.inner_text().strip()
    first.hover()
    timed(
        "more like this on a result",
        lambda: first.get_by_role("button", name="More like this").click(),
        lambda: expect(page.get_by_text(f"Similar to {target}")).to_be_visible(timeout=long),
    )
    for name, heading in [("Library", "Roots"), ("Tags", "4. Browse by tag")]:
        timed(
            f"open the {name} page",
            lambda n=name: page.get_by_role("link", name=n).click(),
            lambda h=heading: expect(page.get_by_role("heading", name=h)).to_be_visible(
                timeout=long
            ),
        )
    timed(
        "back to the Search page",
        lambda: page.get_by_role("link", name="Search").click(),
        lambda: expect(page.locator(".st-key-result-0")).to_be_visible(timeout=long),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="synthetic images to add")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="vitrieve-ui-bench-") as tmp:
        for label, extra in (("small", 0), ("large", args.n)):
            work = Path(tmp) / label
            work.mkdir()
            log(f"building the {label} library (+{extra} synthetic images)")
            home, photos = build_small(work)
            if extra:
                add_synthetic(home, work, extra)
            log(f"measuring {label}")
            results[label] = measure(home, photos, work, args.repeats)
            for name, t in results[label].items():
                log(f"  {name}: {t:.3f} s")
    small, large = results["small"], results["large"]
    emit(
        {
            "benchmark": "ui_latency",
            "images": {"small": 10, "large": 10 + args.n},
            "repeats": args.repeats,
            "median_s": {
                k: {"small": round(small[k], 3), "large": round(large[k], 3)} for k in large
            },
            "ratio_large_over_small": {k: round(large[k] / small[k], 2) for k in large},
            "max_large_s": round(max(large.values()), 3),
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    main()

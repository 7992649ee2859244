"""Duplicate review by keyboard in a real browser: the time from a key press to the next group
fully drawn, on a 10k-image library with 500 duplicate groups.

The library is the test suite's photo tree (real photos, ingested with the tiny test ViT, see
benchmarks/ui_latency.py) plus N synthetic catalog rows in a second root, inserted directly:
2 x G of them are G pairs of near-identical vectors (cosine about 0.96, a duplicate group each),
the rest random vectors that group with nothing. Every grouped row has its own content hash and
a copy of a real thumbnail under it, so every group draws its photos as a real one would; their
files do not exist, which no measured decision reads. Keeper facts (sharpness, data size) are
set, so finding the groups never reads a file.

Served by a real `vitrieve ui` and driven by headless Chromium at 1440x900: the page opens on
group 1, the main area is scrolled down a little, then D decisions are made by key, in turn
"A" (accept and next), "2" (photo 2 is the keeper, then next) and "N" (not duplicates). Each is
timed from the key press to the next group fully drawn: its progress line says the expected
group and total, its buttons are there, no element of the previous draw is left (Streamlit's
stale marks) and every photo has decoded. After each: the page's full-run mark
(ui/app_pages/duplicates.py) must be unchanged (the decision reran only the review's fragment)
and the scroll position the same. Nothing here asserts the target (docs/BENCHMARKS.md: p50
under 300 ms on an idle 2-core box).

Usage: python -m benchmarks.dup_review_latency [--n 10000] [--groups 500] [--decisions 100]
Progress goes to stderr; the result is one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.common import SEED, emit, log, machine
from benchmarks.ui_latency import ARGS, CHROMIUM, build_small

DRAWN = """([want, stale]) => {
  const review = document.querySelector('.st-key-dup-review');
  if (!review || !review.innerText.includes(want)) return false;
  if (!review.querySelector('.st-key-review-accept')) return false;
  if (stale && review.querySelector('[data-stale="true"]')) return false;
  return [...review.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0);
}"""


def add_groups(home: Path, work: Path, n: int, groups: int) -> None:
    """N synthetic rows: `groups` near-identical pairs, the rest unrelated."""
    from sqlalchemy import insert, select

    from tests.support import TINY_VIT
    from vitrieve.core.config import Settings
    from vitrieve.indexer.catalog import encode_vector
    from vitrieve.indexer.library import Library
    from vitrieve.indexer.thumbnails import thumbnail_path
    from vitrieve.search.files import thumbnail_file
    from vitrieve.tables.catalog import Embedding, Image, ImageStatus, Root

    settings = Settings(home=home, model=str(TINY_VIT), precision="fp32", runtime="torch")
    rng = np.random.default_rng(SEED)
    folder = work / "b-synthetic"
    folder.mkdir()
    with Library(settings) as lib:
        model = lib.model_row
        vectors = rng.normal(0, 1, (n, model.dim)).astype(np.float32)
        for g in range(groups):  # rows 2g and 2g+1: one group
            vectors[2 * g + 1] = vectors[2 * g] + rng.normal(
                0, 0.05 * np.linalg.norm(vectors[2 * g]) / np.sqrt(model.dim), model.dim
            )
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with lib.sessions.begin() as s:
            real = s.execute(
                select(Image.content_hash, Image.width, Image.height, Image.format, Image.size)
                .where(Image.status == ImageStatus.EMBEDDED)
                .order_by(Image.id)
            ).all()
            thumbs = [thumbnail_file(lib, r.content_hash) for r in real]
            root_id = s.scalar(insert(Root).values(path=str(folder)).returning(Root.id))
            now = datetime.now(UTC)
            for start in range(0, n, 2000):
                count = min(2000, n - start)
                rows = []
                for i in range(start, start + count):
                    p = real[i % len(real)]
                    digest = f"{i:032x}"
                    thumb = thumbs[i % len(real)]
                    if i < 2 * groups and thumb is not None:
                        target = thumbnail_path(settings.thumb_dir, digest)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(thumb, target)
                    rows.append(
                        {
                            "root_id": root_id,
                            "rel_path": f"{i // 500:03d}/img-{i:06d}.jpg",
                            "size": p.size + i % 2,
                            "mtime_ns": 1_600_000_000_000_000_000 + i * 10**9,
                            "content_hash": digest,
                            "width": p.width,
                            "height": p.height,
                            "format": p.format,
                            "sharpness": 100.0 + i % 7,
                            "data_size": p.size,
                            "status": ImageStatus.EMBEDDED,
                            "updated_at": now,
                        }
                    )
                ids = s.scalars(insert(Image).returning(Image.id), rows).all()
                s.execute(
                    insert(Embedding),
                    [
                        {
                            "image_id": image_id,
                            "model_id": model.id,
                            "content_hash": rows[k]["content_hash"],
                            "vector": encode_vector(vectors[start + k]),
                        }
                        for k, image_id in enumerate(ids)
                    ],
                )
        lib.index()  # the index notices SQL has more ids and rebuilds (not timed: done once)


def measure(home: Path, work: Path, decisions: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    from tests.support import page_runs, run_server, scroll_to, scroll_top

    times: list[float] = []
    reruns = moved = lost = 0
    with run_server(home, work / "server") as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            t0 = time.perf_counter()
            page.goto(server.url + "/duplicates", wait_until="domcontentloaded")
            review = page.locator(".st-key-dup-review")
            expect(review).to_contain_text("group 1 of ", timeout=300_000)
            first_draw = time.perf_counter() - t0
            line = review.inner_text()
            total = int(line.split("group 1 of ", 1)[1].split(" ", 1)[0])
            log(f"first draw {first_draw:.1f} s, {total} groups")
            page.wait_for_function(DRAWN, arg=[f"group 1 of {total}", True], timeout=60_000)
            # Warm-up, not timed: the page takes the keyboard (the first key after loading can
            # be lost while Streamlit attaches its listeners, so it is pressed until it acts).
            review.get_by_text("group 1 of ").click()
            page.evaluate("document.activeElement.blur()")
            for key, want in (("ArrowRight", 2), ("ArrowLeft", 1)):
                for _ in range(10):
                    page.keyboard.press(key)
                    try:
                        page.wait_for_function(
                            DRAWN, arg=[f"group {want} of {total}", True], timeout=3000
                        )
                        break
                    except Exception:
                        log(f"  {key} not taken yet")
            runs = page_runs(page)
            top = scroll_to(page, 60)
            index = 1
            for d in range(decisions):
                key = "a2n"[d % 3]
                if key == "n":
                    total -= 1
                else:
                    index += 1
                want = f"group {index} of {total}"
                was = f"group {index - (key != 'n')} of {total + (key == 'n')}"
                for _ in range(5):
                    start = time.perf_counter()
                    page.keyboard.press(key)
                    try:
                        page.wait_for_function(DRAWN, arg=[want, True], timeout=5000, polling="raf")
                        break
                    except Exception:
                        # a key Streamlit did not take: the old group still there, untouched
                        page.wait_for_function(DRAWN, arg=[was, True], timeout=1000)
                        lost += 1
                else:
                    raise RuntimeError(f"{key!r} was never taken: {review.inner_text()[:200]}")
                times.append(time.perf_counter() - start)
                reruns += page_runs(page) != runs
                moved += scroll_top(page) != top
                if d % 10 == 9:
                    log(f"  {d + 1} decisions, last {times[-1] * 1000:.0f} ms")
        finally:
            browser.close()
    ordered = sorted(times)
    return {
        "first_draw_s": round(first_draw, 2),
        "groups": total,
        "p50_ms": round(statistics.median(times) * 1000),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000),
        "max_ms": round(ordered[-1] * 1000),
        "full_page_reruns": reruns,
        "scroll_moved": moved,
        "keys_lost": lost,  # pressed again; timed from the press that acted
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="synthetic images to add")
    parser.add_argument("--groups", type=int, default=500, help="duplicate pairs among them")
    parser.add_argument("--decisions", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vitrieve-review-bench-") as tmp:
        work = Path(tmp)
        log(f"building the library (10 photos + {args.n} synthetic, {args.groups} groups)")
        home, _ = build_small(work)
        add_groups(home, work, args.n, args.groups)
        log(f"reviewing {args.decisions} groups by keyboard")
        result = measure(home, work, args.decisions)
    emit(
        {
            "benchmark": "dup_review_latency",
            "images": 10 + args.n,
            "decisions": args.decisions,
            "keys": "A, 2, N in turn",
            **result,
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    main()

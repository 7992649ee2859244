"""Remakes the README's picture, docs/img/duplicates-review.png: the Duplicates review at
1440x900 as tests/ui/test_browser_screens.py draws it in headless Chromium (a library of real
photos with ten files of one photo, the tiny test model), cut to the first screen and reduced
to 256 colours so the repository stays small.

Run from the repository root with the project's Python:
    .venv/bin/python scripts/readme_screenshot.py
(`--no-run` reuses test-output/browser/duplicates-1440.png from the last test run).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHOT = REPO / "test-output" / "browser" / "duplicates-1440.png"
TARGET = REPO / "docs" / "img" / "duplicates-review.png"
SCREEN = (1440, 900)


def main() -> int:
    if "--no-run" not in sys.argv[1:]:
        test = "tests/ui/test_browser_screens.py"
        run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test, "-k", "dup"]
        if subprocess.run(run, cwd=REPO).returncode:
            print(f"readme_screenshot: {test} failed; the picture was not remade", file=sys.stderr)
            return 1
    if not SHOT.is_file():
        print(f"readme_screenshot: {SHOT} is missing: run without --no-run", file=sys.stderr)
        return 1
    with Image.open(SHOT) as img:
        screen = img.convert("RGB").crop((0, 0, *SCREEN))
    small = screen.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    small.save(TARGET, optimize=True)
    print(f"{TARGET.relative_to(REPO)}: {TARGET.stat().st_size / 1024:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

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

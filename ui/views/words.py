"""Counts in words that agree ("1 file", "2 files"): one rule for the CLI's messages
(ui/cli/text.py) and the pages' (ui/app_pages, ui/components), so neither says "1 files"."""

from __future__ import annotations


def count(number: int, word: str, plural: str | None = None) -> str:
    """``number`` and ``word`` agreeing: "1 file", "2 files", "0 files" ("1 batch", "2 batches"
    with ``plural``)."""
    return f"{number} {word if number == 1 else plural or word + 's'}"

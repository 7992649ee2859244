"""Duplicates page, one group at a time (the default): photos first with their facts in plain
words, a keeper chosen by its number goes on to the next group, undo comes back to it, "not
duplicates" lets the next group take its place; messages name files, never image ids."""

from __future__ import annotations

from tests.support import click, open_dups, texts


def progress(at) -> str:
    return next(m for m in texts(at.markdown) if m.startswith("**group "))


def test_one_group_at_a_time_keep_by_number_undo_and_not_duplicates(dup_catalog, open_page):
    at = open_dups(open_page, "One group at a time")
    assert " of 2 · " in progress(at)
    first = progress(at).split(" · group of ")[1]
    names = [
        m for m in texts(at.markdown) if m.startswith("**") and m.endswith((".jpg**", ".png**"))
    ]
    assert len(names) == 2  # the group's photos, by file name
    keep = [b for b in at.button if b.key and b.key.startswith("review-keep-")]
    assert len(keep) == 2
    at = click(at, keep[1].key)
    assert progress(at).split(" · group of ")[1] != first  # on to the other group
    kept = [c for c in texts(at.caption) if "Kept " in c]
    assert kept and not any("image " in c for c in kept), kept
    at = click(at, "review-undo")  # back to that group (named by its keeper), as suggested
    assert progress(at).split(" · group of ")[1] == first
    assert any("keeper (suggested)" in m for m in texts(at.markdown))
    at = click(at, "review-ignore")
    assert progress(at).startswith("**group ") and " of 1 · " in progress(at)
    assert any(c.endswith("not duplicates.") for c in texts(at.caption)), texts(at.caption)

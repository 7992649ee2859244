"""Keep as a stack on the Duplicates page (ui/components/stacks.py): a series kept whole is
recorded, leaves the page's groups with nothing moved, and the page's Undo takes it back."""

from __future__ import annotations

from datetime import timedelta

from tests.support import DUP_THRESHOLD as THRESHOLD
from tests.support import burst, click, open_dups, real_photo, texts
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.find import find_duplicates
from vitrieve.search.duplicates.stacks import list_stacks


def _stacks(app_env):
    with Library(app_env) as lib, lib.sessions() as session:
        return list_stacks(session)


def test_a_series_kept_as_a_stack_leaves_the_page_and_undo_brings_it_back(
    app_env, photos, open_page
):
    burst(photos / "burst", real_photo("astronaut"), timedelta(seconds=1))
    with Library(app_env) as lib:
        ingest(lib, [photos])
        series = next(
            g for g in find_duplicates(lib, threshold=THRESHOLD).groups if g.kind == "series"
        )
    files = {m.path: (photos / m.path).read_bytes() for m in series.members}
    at = open_dups(open_page)
    heading = f"**Group {series.group}** · {len(series.members)} images · series"
    assert any(m.startswith(heading) for m in texts(at.markdown))

    at = click(at, f"stack-group-{series.group}")
    assert not at.exception, [e.value for e in at.exception]
    assert not any(m.startswith(heading) for m in texts(at.markdown))
    [stack] = _stacks(app_env)
    assert stack.cover == series.members[0].image_id and len(stack.members) == len(files)
    assert {p: (photos / p).read_bytes() for p in files} == files  # nothing moved
    name = series.members[0].path.rsplit("/", 1)[1]
    note = f"Recorded: kept {name} and {len(files) - 1} more photos as a stack."
    assert note in texts(at.info)

    at = click(at, "dup_undo")
    assert _stacks(app_env) == []
    assert any(m.startswith(heading) for m in texts(at.markdown))

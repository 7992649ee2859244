"""The Duplicates page tells the truth about the disk: a read-only library is said before any
plan, and a quarantine that moved nothing (its keeper deleted since the plan) says why, file by
file, and offers no Undo."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from tests.support import APP, READ_ONLY, click, in_namespace, open_dups, texts
from tests.support import DUP_THRESHOLD as THRESHOLD

SHOW_PAGE = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
at.switch_page("app_pages/duplicates.py").run()
at.slider(key="dup_threshold").set_value(float(sys.argv[2])).run()
print(json.dumps({"warnings": [str(w.value) for w in at.warning],
                  "errors": [str(e.value) for e in at.exception]}))
"""


def test_a_read_only_library_is_said_before_any_plan(dup_catalog, app_env):
    import os

    env = dict(os.environ) | {"RO": str(dup_catalog)}
    shown = in_namespace(
        READ_ONLY,
        [sys.executable, "-c", textwrap.dedent(SHOW_PAGE), str(APP), str(THRESHOLD)],
        env,
    )
    assert shown.returncode == 0, shown.stderr
    page = json.loads(shown.stdout.splitlines()[-1])
    assert page["errors"] == []
    assert page["warnings"] == [
        "The library is read-only here: 2 of the 2 copies are in folders vitrieve cannot move "
        f"files out of ({dup_catalog}: read-only file system); quarantine leaves them in place. "
        "To clean up, make the photo folders writable for vitrieve (in Docker: a writable "
        "photo mount, docs/DUPLICATES.md)."
    ]


def test_a_keeper_deleted_after_planning_keeps_its_copy_and_the_page_says_why(
    dup_catalog,
    open_page,
    tmp_path,
):
    at = open_dups(open_page)
    assert not at.warning  # a writable library: nothing to warn about
    at.text_input(key="dup_dest").set_value(str(tmp_path / "q")).run()
    next(b for b in at.button if b.label == "Plan the moves").click()
    at.run()
    plan = next(d.value for d in at.dataframe if "from" in d.value.columns)
    keepers = sorted(set(plan["keeper"]))
    for keeper in keepers:  # deleted outside vitrieve, no re-ingest
        Path(keeper).unlink()
    at.checkbox(key="dup_confirm").check().run()
    at = click(at, "dup_apply")

    assert texts(at.error) == [
        f"Nothing was moved to {tmp_path / 'q'}. 2 files were not moved (reasons below)."
    ]
    by_copy = dict(zip(plan["from"], plan["keeper"], strict=True))
    assert sorted(texts(at.warning)) == sorted(
        f"{copy}: not moved: its keeper {keeper} is missing; re-ingest its folder and plan again"
        for copy, keeper in by_copy.items()
    )
    assert all(Path(copy).exists() for copy in by_copy)
    assert not any(b.key == "dup_undo_batch" for b in at.button)  # nothing to undo

"""Quarantine and undo against other processes: two quarantines started together move each
file once (no stray hard links, no 'failed' moves), an undo killed at any point and run again
leaves every image back and searchable at once, and a plan made stale by another quarantine
never moves a group's last copy. SQLite and PostgreSQL, several trials each."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support import TINY_VIT, cli_env, index_file_ids, noise_image, run_cli, run_cli_together
from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import searchable_ids
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.decisions import set_keepers
from vitrieve.search.duplicates.find import find_duplicates
from vitrieve.search.duplicates.quarantine import apply_quarantine, plan_quarantine
from vitrieve.tables.catalog import Image, ImageStatus
from vitrieve.tables.duplicates import MoveState, QuarantineMove

PAIRS = 10  # each photo and a byte-identical copy: ten exact duplicate groups


@pytest.fixture
def library(database_url, tmp_path):
    photos = tmp_path / "photos"
    (photos / "copies").mkdir(parents=True)
    for i in range(PAIRS):
        noise_image(i, (96, 72)).save(photos / f"img{i:02d}.jpg", quality=90)
        shutil.copy2(photos / f"img{i:02d}.jpg", photos / "copies" / f"img{i:02d}.jpg")
    settings = Settings(
        home=tmp_path / "home",
        database_url=database_url,
        model=str(TINY_VIT),
        precision="fp32",
        runtime="torch",
        batch_size=4,
        decode_workers=1,
    )
    with Library(settings) as lib:
        ingest(lib, [photos])
        env = cli_env(settings.home) | {"VITRIEVE_DATABASE_URL": database_url}
        yield lib, photos, env


def files(*folders: Path) -> list[Path]:
    return sorted(
        p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()
    )


def move_states(lib) -> dict[MoveState, int]:
    with lib.sessions() as session:
        rows = session.execute(
            select(QuarantineMove.state, func.count()).group_by(QuarantineMove.state)
        ).all()
    return {MoveState(s): n for s, n in rows}


def assert_all_back_and_searchable(lib, photos: Path, quarantine: Path) -> None:
    assert len(files(photos)) == 2 * PAIRS and files(quarantine) == []
    assert all(p.stat().st_nlink == 1 for p in files(photos))  # no name left twice
    with lib.sessions() as session:
        statuses = set(session.scalars(select(Image.status)))
        want = searchable_ids(session, lib.model_row.id)
    assert {ImageStatus(s) for s in statuses} == {ImageStatus.EMBEDDED}
    assert len(want) == 2 * PAIRS
    saved = index_file_ids(lib)  # the file as saved, not an index repaired on open
    assert len(saved) == len(want) and (saved == want).all()


def test_two_quarantines_at_once_move_each_file_exactly_once(library, tmp_path):
    lib, photos, env = library
    for trial in range(3):
        q = tmp_path / f"q{trial}"
        command = ["dups", "quarantine", str(q), "--apply", "--exact-only", "--json"]
        results = run_cli_together(env, command, command)
        for r in results:
            assert r.returncode == 0 and "Error" not in r.stderr, r.stderr
        reports = [json.loads(r.stdout) for r in results]
        assert sum(len(r["done"]) for r in reports) == PAIRS  # between them, each file once
        for r in reports:  # the one that waited skipped what the other had moved
            assert {p["reason"] for p in r["problems"]} <= {
                "not moved: already quarantined or gone"
            }
        assert move_states(lib).get(MoveState.FAILED, 0) == 0
        assert MoveState.PLANNED not in move_states(lib)
        assert len(files(q)) == len(files(photos)) == PAIRS
        assert all(p.stat().st_nlink == 1 for p in files(photos, q))  # no stray hard links

        run_cli(env, "dups", "undo")
        assert_all_back_and_searchable(lib, photos, q)


CRASHING_UNDO = """
import os, sys
from pathlib import Path
from vitrieve.core.config import Settings
from vitrieve.indexer.library import Library
import vitrieve.search.duplicates.moves as files
import vitrieve.search.duplicates.undo as undo

quarantine, point, after = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
calls = []
real_move, real_unlink = undo.move_file, files.os.unlink

def move_then_die(src, dst):  # killed after a file is back, before SQL records it
    real_move(src, dst)
    calls.append(src)
    if len(calls) == after:
        os._exit(9)

def die_between_link_and_unlink(path, *args, **kwargs):  # both names left
    if Path(path).is_relative_to(quarantine):
        calls.append(path)
        if len(calls) == after:
            os._exit(9)
    return real_unlink(path, *args, **kwargs)

if point == "after-move":
    undo.move_file = move_then_die
else:
    files.os.unlink = die_between_link_and_unlink
undo.undo_quarantine(Library(Settings()))
"""


@pytest.mark.parametrize(
    ("point", "after"), [("after-move", 1), ("mid-move", 4), ("after-move", 7)]
)
def test_an_undo_killed_midway_and_run_again_leaves_every_image_searchable(
    library, tmp_path, point, after
):
    lib, photos, env = library
    q = tmp_path / "q"
    report = apply_quarantine(
        lib, plan_quarantine(lib, find_duplicates(lib, exact_only=True).groups, q)
    )
    assert len(report.done) == PAIRS

    crashed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASHING_UNDO), str(q), point, str(after)],
        env=env,
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert crashed.returncode == 9, crashed.stderr
    assert 0 < len(files(q)) < PAIRS  # really stopped midway

    again = json.loads(run_cli(env, "dups", "undo", "--json").stdout)
    assert again["problems"] == []
    assert move_states(lib) == {MoveState.RESTORED: PAIRS}
    assert_all_back_and_searchable(lib, photos, q)


def test_a_stale_plan_never_quarantines_the_last_copy_of_a_group(library, tmp_path):
    """A plan made (say, in the UI) before another command changed the keepers and moved the
    planned keeper away: applying it must not empty the group."""
    lib, photos, _ = library
    groups = find_duplicates(lib, exact_only=True).groups
    stale = plan_quarantine(lib, groups, tmp_path / "q1")
    with lib.sessions.begin() as session:  # meanwhile: keep the copies the plan would move
        set_keepers(session, [m.image_id for m in stale])
    moved = apply_quarantine(
        lib, plan_quarantine(lib, find_duplicates(lib, exact_only=True).groups, tmp_path / "q2")
    )
    assert len(moved.done) == PAIRS  # the old keepers went to q2

    report = apply_quarantine(lib, stale)
    assert report.done == [] and len(report.problems) == PAIRS
    assert {why for _, why in report.problems} == {
        "not moved: the copy its group keeps is gone since planning; plan again"
    }
    assert len(files(photos)) == PAIRS and files(tmp_path / "q1") == []

"""A move that cannot finish leaves nothing behind and fails the command: a read-only photo
folder (the Docker stack's `:ro` mount) and a full quarantine disk, made real with a mount
namespace of the test's own (a read-only bind mount, a 4 kB tmpfs), run as a user runs vitrieve.

`unshare -rm` (a user and mount namespace) works unprivileged where the kernel allows user
namespaces; as root without them `unshare -m` is enough. Elsewhere these tests are skipped.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import (
    FULL,
    NEAR,
    READ_ONLY,
    VITRIEVE_CLI,
    cli_env,
    clone_library,
    in_namespace,
    run_cli,
)
from vitrieve.indexer.library import Library
from vitrieve.tables.duplicates import MoveState, QuarantineMove

REPO = Path(__file__).parents[2]


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def everything_in(folder: Path) -> list[str]:
    return (
        sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
        if folder.exists()
        else []
    )


@pytest.fixture
def library(dup_template, tmp_path):
    photos, settings = clone_library(dup_template, tmp_path / "lib")
    return photos, settings, cli_env(settings.home, settings.model) | {"TTY_COMPATIBLE": "0"}


def move_states(settings) -> list[MoveState]:
    with Library(settings) as lib, lib.sessions() as session:
        return [MoveState(s) for s in session.scalars(select(QuarantineMove.state))]


def test_a_read_only_library_is_said_before_planning_and_apply_moves_nothing_and_fails(
    library, tmp_path
):
    photos, _, env = library
    q, before = tmp_path / "q", snapshot(photos)
    env = env | {"RO": str(photos)}
    dry = in_namespace(
        READ_ONLY, [*VITRIEVE_CLI, "dups", "quarantine", str(q), "-t", str(NEAR)], env
    )
    assert dry.returncode == 0, dry.stderr
    assert (
        f"warning: 7 of the 7 copies are in folders vitrieve cannot move files out of "
        f"({photos}: read-only file system); quarantine leaves them in place."
    ) in dry.stderr.replace("\n", " ")

    applied = in_namespace(
        READ_ONLY, [*VITRIEVE_CLI, "dups", "quarantine", str(q), "-t", str(NEAR), "--apply"], env
    )
    assert applied.returncode == 1
    lines = applied.stderr.splitlines()
    assert lines[0] == f"moved no files to {q}; nothing to undo"
    assert lines[-1] == "error: 7 of the 7 planned files were not moved (listed above)"
    assert sum("read-only file system" in line for line in lines) == 7
    assert "Undo" not in applied.stdout + applied.stderr
    assert everything_in(q) == [] and snapshot(photos) == before


MOVE_ONE = """
import sys
from pathlib import Path
from vitrieve.search.duplicates.moves import move_file
try:
    move_file(Path(sys.argv[1]), Path(sys.argv[2]))
except OSError as exc:
    print(exc.strerror)
"""


def test_a_copy_whose_original_cannot_be_removed_is_taken_back(tmp_path):
    """Across file systems the file is copied first; the read-only origin then refuses the
    unlink, and the copy (with the folders made for it) must go again."""
    src, q = tmp_path / "ro" / "photo.jpg", tmp_path / "q"
    src.parent.mkdir()
    src.write_bytes(b"the only copy of a picture")
    q.mkdir()
    env = dict(os.environ) | {"RO": str(src.parent)}
    dst = q / "photos" / "2019" / "photo.jpg"
    moved = in_namespace(READ_ONLY, [sys.executable, "-c", MOVE_ONE, str(src), str(dst)], env)
    assert moved.stdout.strip() == "Read-only file system", moved.stderr
    assert everything_in(q) == []  # no orphan copy, no empty folders
    assert src.read_bytes() == b"the only copy of a picture"


def test_a_full_quarantine_disk_leaves_no_partial_file_and_fails_the_command(library, tmp_path):
    photos, settings, env = library
    q, listing, before = tmp_path / "q", tmp_path / "left.txt", snapshot(photos)
    q.mkdir()
    applied = in_namespace(
        FULL,
        [*VITRIEVE_CLI, "dups", "quarantine", str(q), "-t", str(NEAR), "--apply"],
        env | {"FULL": str(q)},
        after=f'find "$FULL" -mindepth 1 > {listing}',
    )
    assert applied.returncode == 1
    assert listing.read_text() == ""  # neither `.vitrieve-partial` files nor empty folders
    lines = applied.stderr.splitlines()
    assert lines[0] == f"moved no files to {q}; nothing to undo"
    assert sum(line.endswith("not moved: No space left on device") for line in lines) == 7
    assert lines[-1] == "error: 7 of the 7 planned files were not moved (listed above)"
    assert snapshot(photos) == before
    assert move_states(settings) == [MoveState.FAILED] * 7


def test_an_undo_from_a_read_only_quarantine_leaves_no_copy_and_can_run_again(library, tmp_path):
    photos, settings, env = library
    q, before = tmp_path / "q", snapshot(photos)
    run_cli(env, "dups", "quarantine", str(q), "-t", str(NEAR), "--apply")
    in_quarantine = snapshot(q)
    assert len(in_quarantine) == 7

    undo = in_namespace(READ_ONLY, [*VITRIEVE_CLI, "dups", "undo"], env | {"RO": str(q)})
    assert undo.returncode == 1
    assert undo.stderr.splitlines()[-1] == "error: 7 files could not be restored (listed above)"
    assert snapshot(q) == in_quarantine  # still all there, and nowhere else
    assert len(snapshot(photos)) == len(before) - 7

    again = run_cli(env, "dups", "undo")  # once the quarantine is writable again
    assert again.stdout.startswith("restored 7 files") and again.stderr == ""
    assert snapshot(photos) == before and snapshot(q) == {}
    assert set(move_states(settings)) == {MoveState.RESTORED}

"""Photos whose file or folder names are not valid UTF-8 (Latin-1 names from an old Samba
share), through the `vitrieve` command on SQLite and PostgreSQL: indexed, searchable, shown
readably, quarantined and restored at their exact byte names, a rerun changes nothing.

One command (the human `ingest` summary) runs as a real process, whose own stdout is the strict
UTF-8 stream of PYTHONIOENCODING; the others run in-process (`invoke_cli`), whose captured
stdout is strict UTF-8 too, so a lone surrogate printed raw fails there as well."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import cli_env, invoke_cli, invoke_cli_json, real_photo, run_cli

COUNTS = ("new", "changed", "moved", "missing", "unchanged", "failed")


def fs(raw: bytes) -> str:
    """A path as Python's os functions give it (undecodable bytes as lone surrogates)."""
    return os.fsdecode(raw)


def tree(root: Path) -> dict[bytes, tuple[bytes, int]]:
    """Every file under root by its exact byte path: content and modification time."""
    out = {}
    for dirpath, _, files in os.walk(os.fsencode(root)):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, os.fsencode(root))] = (
                    f.read(),
                    os.stat(path).st_mtime_ns,
                )
    return out


@pytest.fixture
def latin1_share(tmp_path) -> Path:
    """caf\\xe9.jpg and its byte-identical copy in dir-\\xff/, a normal photo in dir-\\xff/,
    an undecodable photo with a Latin-1 name, and plain UTF-8 names."""
    root = tmp_path / "share"
    (root / fs(b"dir-\xff")).mkdir(parents=True)
    real_photo("astronaut").save(root / fs(b"caf\xe9.jpg"), quality=90)
    shutil.copy2(root / fs(b"caf\xe9.jpg"), root / fs(b"dir-\xff/copie-\xe9t\xe9.jpg"))
    real_photo("coffee").save(root / fs(b"dir-\xff/coffee.jpg"), quality=90)
    real_photo("rocket").save(root / "rocket.jpg", quality=90)
    real_photo("chelsea").save(root / "café-utf8.png")
    (root / fs(b"cass\xe9.jpg")).write_bytes(b"not a picture")
    return root


def test_latin1_names_are_indexed_shown_quarantined_and_restored(
    latin1_share, database_url, tmp_path
):
    share = latin1_share
    env = cli_env(tmp_path / "home") | {
        "VITRIEVE_DATABASE_URL": database_url,
        # A UTF-8 terminal, as on a desktop: printing a lone surrogate raises there.
        "PYTHONIOENCODING": "utf-8:strict",
        "COLUMNS": "200",
    }
    # The non-UTF-8 folder first, as a root of its own; the share then absorbs it.
    first = invoke_cli_json(env, "ingest", str(share / fs(b"dir-\xff")))
    assert (first["new"], first["failed"]) == (2, 0)
    human = run_cli(env, "ingest", str(share)).stdout  # the real process
    assert "4 new, 0 changed, 0 moved, 0 missing, 2 unchanged, 1 failed" in human
    assert f"failed {share}/cass\\xe9.jpg: not an image" in human

    hits = invoke_cli_json(env, "search", str(share / fs(b"caf\xe9.jpg")), "-k", "10")
    shown = {h["path"]: h["score"] for h in hits}
    assert set(shown) == {
        f"{share}/dir-\\xff/copie-\\xe9t\\xe9.jpg",
        f"{share}/dir-\\xff/coffee.jpg",
        f"{share}/rocket.jpg",
        f"{share}/café-utf8.png",
    }
    assert shown[f"{share}/dir-\\xff/copie-\\xe9t\\xe9.jpg"] == pytest.approx(1.0)
    in_folder = invoke_cli_json(
        env, "search", str(share / "rocket.jpg"), "--folder", str(share / fs(b"dir-\xff"))
    )
    assert sorted(h["path"] for h in in_folder) == [
        f"{share}/dir-\\xff/coffee.jpg",
        f"{share}/dir-\\xff/copie-\\xe9t\\xe9.jpg",
    ]
    table = invoke_cli(env, "search", str(share / "rocket.jpg")).stdout
    assert f"{share}/caf\\xe9.jpg" in table and f"{share}/dir-\\xff/coffee.jpg" in table

    groups = invoke_cli_json(env, "dups", "--exact-only")["groups"]
    assert [sorted(m["path"] for m in g["members"]) for g in groups] == [
        [f"{share}/caf\\xe9.jpg", f"{share}/dir-\\xff/copie-\\xe9t\\xe9.jpg"]
    ]
    assert "copie-\\xe9t\\xe9.jpg" in invoke_cli(env, "dups", "--exact-only").stdout
    csv_file = tmp_path / "dups.csv"
    invoke_cli(env, "dups", "--exact-only", "--csv", str(csv_file))
    assert f"{share}/caf\\xe9.jpg" in csv_file.read_text(encoding="utf-8")

    before = tree(share)
    quarantine = tmp_path / fs(b"quarant\xe4ne")
    dry = invoke_cli(env, "dups", "quarantine", str(quarantine), "--exact-only")
    # piped: one record per move on stdout, the summary on stderr
    assert "dry run: 1 file (" in dry.stderr and "\\xe9" in dry.stdout and not quarantine.exists()
    moved = invoke_cli_json(env, "dups", "quarantine", str(quarantine), "--exact-only", "--apply")
    assert len(moved["done"]) == 1 and not moved["problems"]
    in_quarantine = tree(quarantine)
    assert len(in_quarantine) == 1
    ((where, (content, mtime)),) = in_quarantine.items()
    origin = where.split(b"/", 1)[1]  # quarantine/<root name>/<path in the root>
    assert where.startswith(b"share/") and before[origin] == (content, mtime)
    assert origin in (b"caf\xe9.jpg", b"dir-\xff/copie-\xe9t\xe9.jpg")
    assert not os.path.lexists(os.fsencode(share) + b"/" + origin)
    after_move = invoke_cli_json(env, "search", str(share / "rocket.jpg"), "-k", "10")
    assert len(after_move) == 3  # the quarantined copy left the index

    restored = invoke_cli(env, "dups", "undo").stdout
    assert "restored 1 file from" in restored
    assert tree(share) == before  # byte-identical, at the exact byte names, same mtime
    assert tree(quarantine) == {}
    assert len(invoke_cli_json(env, "search", str(share / "rocket.jpg"), "-k", "10")) == 4

    again = invoke_cli_json(env, "ingest", str(share))
    assert {k: again[k] for k in COUNTS} == {
        "new": 0, "changed": 0, "moved": 0, "missing": 0, "unchanged": 6, "failed": 0
    }  # fmt: skip
    roots = invoke_cli_json(env, "roots", "list")
    assert [r["path"] for r in roots] == [str(share)]

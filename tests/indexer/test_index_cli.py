"""What users see when the index's derived state is damaged or cannot be written: commands keep
working (rebuilding from SQL, in memory if need be), a write in a read-only data directory fails
with one line naming the path, and commands that change nothing never rewrite the index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import VITRIEVE_CLI, cli_env, invoke_cli, invoke_cli_json, need_setpriv

REPO = Path(__file__).resolve().parents[2]
_DROP_DAC = "-dac_override,-dac_read_search,-fowner"


def _read_only_prefix(mode: str, home: Path) -> list[str]:
    """A command prefix under which `home` is really read-only for the vitrieve process.

    "permissions": the tree is chmod a-w; root ignores modes, so as root the process also
    drops the capabilities that let it (EACCES; without setpriv the test fails). "read-only
    mount": a read-only bind mount of the home in a private mount namespace (EROFS), skipped
    where the machine offers none.
    """
    if mode == "permissions":
        if os.geteuid() != 0:
            return []
        need_setpriv()  # fails, never skips: CI runs as root
        return ["setpriv", f"--bounding-set={_DROP_DAC}", f"--inh-caps={_DROP_DAC}", "--"]
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind -o ro '{home}' '{home}'"],
        capture_output=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"no read-only bind mount here: {probe.stderr.decode().strip()}")
    script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, str(home)]


def _chmod_tree(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


def _make_read_only(home: Path, mode: str) -> None:
    if mode == "permissions":  # the mount mode's prefix mounts it read-only itself
        _chmod_tree(home, writable=False)


def _tree_state(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under root: (inode, mtime_ns, bytes); any write or replace changes it."""
    return {
        str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, photos_module: Path) -> Path:
    """One ingested library home for the module; tests work on copies of it."""
    home = tmp_path_factory.mktemp("lib") / "home"
    invoke_cli(cli_env(home), "ingest", str(photos_module))
    return home


@pytest.fixture(scope="module")
def photos_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support import noise_image

    root = tmp_path_factory.mktemp("photos")
    for i in range(8):
        noise_image(i, (160, 120)).save(root / f"img{i}.jpg", quality=90)
    return root


@pytest.fixture
def fresh(library: Path, tmp_path: Path) -> tuple[Path, dict]:
    """A copy of the ingested library for one test (tests damage and lock their copy)."""
    copy = tmp_path / "home"
    shutil.copytree(library, copy)
    return copy, cli_env(copy)


def index_files(home: Path) -> tuple[Path, Path]:
    (faiss_file,) = (home / "index").glob("*.faiss")
    return faiss_file, faiss_file.with_name(faiss_file.name + ".meta.json")


def _run(prefix: list[str], env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, *VITRIEVE_CLI, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )


@pytest.mark.parametrize("damage", ["generation 1e400", "garbage", "missing"])
def test_commands_work_with_a_damaged_sidecar_and_repair_it(fresh, damage: str) -> None:
    home, env = fresh
    expected = invoke_cli_json(env, "search", "--id", "3")
    _, meta = index_files(home)
    if damage == "generation 1e400":
        meta.write_text(meta.read_text().replace('"generation": ', '"generation": 1e400, "x": '))
    elif damage == "garbage":
        meta.write_bytes(b"\x00\x01{not json")
    else:
        meta.unlink()
    status = invoke_cli_json(env, "status")
    assert status["index_size"] == status["embedded"] == 8
    assert json.loads(meta.read_text())["generation"] >= 1  # rewritten, valid
    assert invoke_cli_json(env, "search", "--id", "3") == expected


@pytest.mark.parametrize("mode", ["permissions", "read-only mount"])
def test_a_read_only_home_serves_reads_and_refuses_writes_in_one_line(
    fresh, photos_module: Path, mode: str
) -> None:
    home, env = fresh
    status = invoke_cli_json(env, "status")
    hits = invoke_cli_json(env, "search", "--id", "2")
    prefix = _read_only_prefix(mode, home)
    before = _tree_state(home)
    _make_read_only(home, mode)
    try:
        ro_status = _run(prefix, env, "status", "--json")
        ro_hits = _run(prefix, env, "search", "--id", "2", "--json")
        ingest = _run(prefix, env, "ingest", str(photos_module))
        rebuild = _run(prefix, env, "index", "rebuild")
    finally:
        _chmod_tree(home, writable=True)
    assert ro_status.returncode == 0, ro_status.stderr
    assert json.loads(ro_status.stdout) == status
    assert ro_hits.returncode == 0, ro_hits.stderr
    assert json.loads(ro_hits.stdout) == hits
    for failed, path in ((ingest, home / "catalog.db"), (rebuild, home / "index")):
        assert failed.returncode == 1
        lines = failed.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0], lines
    assert _tree_state(home) == before  # nothing written, nothing replaced


@pytest.mark.parametrize("mode", ["permissions", "read-only mount"])
def test_a_read_only_home_with_a_damaged_index_is_served_from_memory(fresh, mode: str) -> None:
    home, env = fresh
    hits = invoke_cli_json(env, "search", "--id", "5")
    faiss_file, _ = index_files(home)
    data = bytearray(faiss_file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # damaged in place, same size, sidecar unchanged
    faiss_file.write_bytes(bytes(data))
    prefix = _read_only_prefix(mode, home)
    before = _tree_state(home)
    _make_read_only(home, mode)
    try:
        search = _run(prefix, env, "search", "--id", "5", "--json")
        status = _run(prefix, env, "status", "--json")
    finally:
        _chmod_tree(home, writable=True)
    assert search.returncode == 0, search.stderr
    assert json.loads(search.stdout) == hits  # rebuilt from SQL, right answers
    assert status.returncode == 0 and json.loads(status.stdout)["index_size"] == 8
    warnings = [line for line in search.stderr.splitlines() if "cannot write" in line]
    assert len(warnings) == 1 and str(home / "index") in warnings[0], search.stderr
    assert _tree_state(home) == before


def test_commands_that_change_nothing_leave_the_index_file_alone(fresh, photos_module) -> None:
    home, env = fresh
    files = index_files(home)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    invoke_cli(env, "status")
    invoke_cli(env, "search", "--id", "1")
    summary = invoke_cli_json(env, "ingest", str(photos_module))  # nothing new on disk
    assert summary["unchanged"] == 8 and summary["embedded"] == 0
    invoke_cli(env, "dups")
    invoke_cli(env, "dups", "quarantine", str(home.parent / "q"))  # a dry run
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    assert after == before

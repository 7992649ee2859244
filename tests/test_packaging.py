"""What `pip install vitrieve` gives a user: one import name, and a working program without the
source tree (a non-editable wheel in a fresh virtual environment)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.support import TINY_VIT, real_photo

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("vitrieve-*.whl")
    return built


def test_the_wheel_installs_exactly_one_import_name(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")] or [None]
        tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
        if top_level:
            assert z.read(top_level).decode().split() == ["vitrieve"]
    assert tops == {"vitrieve"}
    for layer in ("indexer", "search", "worker", "ui", "migrations", "tables", "core"):
        assert f"vitrieve/{layer}/__init__.py" in names
    assert "vitrieve/migrations/script.py.mako" in names
    assert any(n.startswith("vitrieve/migrations/versions/0001") for n in names)
    assert "vitrieve/ui/app.py" in names and "vitrieve/__main__.py" in names


def test_a_checkout_without_its_links_says_so_on_import(tmp_path):
    """`core.symlinks=false` (or a zip download) writes each link as a small text file holding
    its target: the import must name the problem rather than fail later with "vitrieve.indexer
    is not a package". The tree is made as git makes it, from this working tree."""
    linkless = tmp_path / "vitrieve"
    shutil.copytree(REPO / "vitrieve", linkless, symlinks=True)
    for entry in linkless.iterdir():
        if entry.is_symlink():
            target = os.readlink(entry)
            entry.unlink()
            entry.write_text(target)
    assert (linkless / "indexer").is_file()
    proc = subprocess.run(
        [sys.executable, "-c", "import vitrieve"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "ImportError" in last and "lost its symbolic links" in last
    assert "indexer, search, worker, ui, migrations" in last


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory) -> Path:
    """A new venv with the wheel installed non-editable. Its third-party packages come from this
    venv's site-packages through a .pth line (nothing is downloaded); vitrieve itself is only the
    wheel's copy (this venv's editable install is not on that path: it is a .pth-loaded finder)."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        env=clean_env(venv),  # PYTHONPATH would show pip the source tree's egg-info
        check=True,
        capture_output=True,
        timeout=300,
    )
    # After the install: pip must not see this venv's editable vitrieve as already there.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def clean_env(home: Path) -> dict[str, str]:
    """No PYTHONPATH (the source tree must not be importable) and no developer settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VITRIEVE_", "PYTHON"))}
    return env | {"VITRIEVE_HOME": str(home), "VITRIEVE_MODEL": str(TINY_VIT)}


def run_installed(venv: Path, cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = clean_env(home) | {
        "VITRIEVE_PRECISION": "fp32",
        "VITRIEVE_RUNTIME": "torch",
        "VITRIEVE_AUTO_CALIBRATE": "false",
    }
    return subprocess.run(
        [str(venv / "bin" / "vitrieve"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_installed_wheel_ingests_and_searches_outside_the_source_tree(fresh_venv, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea", "coffee", "rocket"):
        real_photo(name).save(photos / f"{name}.jpg", quality=92)
    real_photo("chelsea").resize((300, 200)).save(tmp_path / "query.png")
    home = tmp_path / "home"

    where = subprocess.run(
        [str(fresh_venv / "bin" / "python"), "-c", "import vitrieve; print(vitrieve.__file__)"],
        cwd=tmp_path,
        env=clean_env(home),
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(fresh_venv)), where.stderr

    assert run_installed(fresh_venv, tmp_path, home, "db", "upgrade").returncode == 0
    ingest = run_installed(fresh_venv, tmp_path, home, "ingest", str(photos))
    assert ingest.returncode == 0, ingest.stderr
    search = run_installed(
        fresh_venv, tmp_path, home, "search", str(tmp_path / "query.png"), "--json"
    )
    assert search.returncode == 0, search.stderr
    assert json.loads(search.stdout)[0]["path"] == str(photos / "chelsea.jpg")
    module = subprocess.run(
        [str(fresh_venv / "bin" / "python"), "-m", "vitrieve", "status"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_env(home),
    )
    assert module.returncode == 0, module.stderr


def test_the_installed_wheel_serves_the_ui(fresh_venv, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = clean_env(tmp_path / "home")
    server = subprocess.Popen(
        [str(fresh_venv / "bin" / "vitrieve"), "ui", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_stcore/health", timeout=5
                ) as r:
                    assert r.read() == b"ok"
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "the UI did not come up in 120 s"
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert b"<html" in r.read().lower()
    finally:
        server.terminate()
        server.wait(timeout=30)

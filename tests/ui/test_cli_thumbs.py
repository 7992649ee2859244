"""`vitrieve thumbs` brings deleted and damaged thumbnails back, also when run twice at once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.support import VITRIEVE_CLI, cli_env, invoke_cli, invoke_cli_json


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return cli_env(tmp_path / "home")


def webps(home: Path) -> dict[str, int]:
    """Every thumbnail by name with its size, after checking that it decodes as WebP."""
    out = {}
    for path in (home / "thumbs").rglob("*.webp"):
        with Image.open(path) as im:
            assert im.format == "WEBP"
            im.load()
            out[path.name] = max(im.size)
    return out


def test_thumbs_remakes_deleted_and_damaged_ones(env, photos):
    home = Path(env["VITRIEVE_HOME"])
    invoke_cli(env, "ingest", str(photos))
    made = webps(home)
    assert len(made) == 6
    first, second, *_ = sorted((home / "thumbs").rglob("*.webp"))
    first.unlink()
    second.write_bytes(second.read_bytes()[:100])  # cut short

    check = invoke_cli_json(env, "thumbs", "--dry-run")
    assert (check["contents"], check["missing"], check["remade"]) == (6, 2, 0)
    assert not first.exists()

    report = invoke_cli_json(env, "thumbs")
    assert (report["missing"], report["remade"], report["failed"]) == (2, 2, 0)
    assert webps(home) == made

    human = invoke_cli(env, "thumbs").stdout
    assert "checked 6 thumbnails" in human and "0 missing or damaged" in human


def test_a_missing_original_is_listed_not_fatal(env, photos):
    home = Path(env["VITRIEVE_HOME"])
    invoke_cli(env, "ingest", str(photos))
    shutil.rmtree(home / "thumbs")
    (photos / "coffee.jpg").unlink()
    proc = invoke_cli(env, "thumbs")
    assert "5 remade, 1 could not be remade" in proc.stdout
    assert f"failed {photos / 'coffee.jpg'}: vanished before it could be read" in proc.stdout
    assert len(webps(home)) == 5


@pytest.mark.parametrize("trial", range(3))
def test_two_thumbs_commands_at_once_leave_every_thumbnail_whole(env, photos, trial):
    home = Path(env["VITRIEVE_HOME"])
    invoke_cli(env, "ingest", str(photos))
    made = webps(home)
    shutil.rmtree(home / "thumbs")
    procs = [
        subprocess.Popen([*VITRIEVE_CLI, "thumbs", "--json"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
        for _ in range(2)
    ]  # fmt: skip
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    assert webps(home) == made
    assert not list((home / "thumbs").rglob("*.tmp"))

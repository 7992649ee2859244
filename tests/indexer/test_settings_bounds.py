"""Settings that would silently change what vitrieve does are errors: an empty VITRIEVE_HOME
(the current folder would become the data directory), and numbers that are infinite, not a
number, negative or beyond their bound (a download link that never expires)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import VITRIEVE_CLI, cli_env
from vitrieve.core.config import InvalidSettingError, Settings


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("VITRIEVE_HOME", "", "VITRIEVE_HOME=: must not be empty"),
        ("VITRIEVE_HOME", "  ", "VITRIEVE_HOME=  : must not be empty"),
        ("VITRIEVE_DATABASE_URL", "", "VITRIEVE_DATABASE_URL=: must not be empty"),
        ("VITRIEVE_MODEL", "", "VITRIEVE_MODEL=: must not be empty"),
        ("VITRIEVE_UI_DOWNLOAD_TTL", "inf", "VITRIEVE_UI_DOWNLOAD_TTL=inf: must be a finite"),
        ("VITRIEVE_UI_DOWNLOAD_TTL", "nan", "VITRIEVE_UI_DOWNLOAD_TTL=nan: must be a finite"),
        ("VITRIEVE_UI_DOWNLOAD_TTL", "-5", "VITRIEVE_UI_DOWNLOAD_TTL=-5: must be > 0"),
        ("VITRIEVE_UI_DOWNLOAD_TTL", "1e9", "VITRIEVE_UI_DOWNLOAD_TTL=1e9: must be <= 86400"),
        ("VITRIEVE_RESCAN_INTERVAL", "inf", "VITRIEVE_RESCAN_INTERVAL=inf: must be a finite"),
        ("VITRIEVE_SETTLE_SECONDS", "nan", "VITRIEVE_SETTLE_SECONDS=nan: must be a finite"),
        ("VITRIEVE_UI_LOGIN_DELAY_MAX", "inf", "VITRIEVE_UI_LOGIN_DELAY_MAX=inf: must be a fin"),
        ("VITRIEVE_DUP_SERIES_SECONDS", "-inf", "VITRIEVE_DUP_SERIES_SECONDS=-inf: must be a"),
        ("VITRIEVE_INDEX_REBUILD_GROWTH", "inf", "VITRIEVE_INDEX_REBUILD_GROWTH=inf: must be"),
    ],
)
def test_an_empty_or_unbounded_setting_is_one_line_naming_it(monkeypatch, variable, value, says):
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidSettingError) as caught:
        Settings()
    assert str(caught.value).startswith(says), str(caught.value)


def test_the_largest_download_ttl_is_accepted(monkeypatch):
    monkeypatch.setenv("VITRIEVE_UI_DOWNLOAD_TTL", "86400")
    assert Settings().ui_download_ttl == 86400


def test_an_empty_home_never_makes_the_current_folder_a_library(tmp_path):
    repo = Path(__file__).resolve().parents[2]  # this checkout's vitrieve, from another cwd
    env = cli_env(tmp_path / "unused") | {"VITRIEVE_HOME": "", "PYTHONPATH": str(repo)}
    proc = subprocess.run(
        [*VITRIEVE_CLI, "status"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("error: VITRIEVE_HOME=: must not be empty"), proc.stderr
    assert list(tmp_path.iterdir()) == []  # no catalog, index or caches in the current folder

"""`vitrieve ui` beyond this machine needs a login: an address other than loopback with no
password or OIDC configured is refused before anything listens on it, in one line that says how
to set one, unless serving open was asked for (--no-password, VITRIEVE_UI_ALLOW_NO_PASSWORD).

Nothing here listens beyond loopback: the refused addresses are refused before binding, and the
commands that would start a server on one stop where `vitrieve ui` hands over to Streamlit
(os.execve, replaced by a recorder), with the command line and environment it would run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from typer.testing import CliRunner

from tests.support import REPO, TINY_VIT, free_port, run_server
from vitrieve.core.errors import VitrieveError
from vitrieve.ui.cli.main import app

REFUSAL = (
    "refusing to serve the UI on {where} without a password: anyone who can reach it could use "
    "it; set VITRIEVE_UI_PASSWORD (or `password` in .streamlit/secrets.toml), or pass "
    "--no-password (VITRIEVE_UI_ALLOW_NO_PASSWORD=1) to serve it open on purpose"
)


class Handover(Exception):
    """Raised instead of exec'ing Streamlit: what `vitrieve ui` would have run."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        super().__init__(argv)
        self.argv = argv
        self.env = env


@pytest.fixture
def secrets_file(tmp_path) -> Iterator[Path]:
    """The one place Streamlit (and the check) look for secrets in this test; not created."""
    path = tmp_path / "secrets.toml"
    before = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(path)])
    yield path
    config.set_option("secrets.files", before)


@pytest.fixture
def ui(monkeypatch, tmp_path, secrets_file):
    """`vitrieve ui ARGS` in-process with only these VITRIEVE_* settings; returns the handover
    or raises the error the command ended with."""
    for key in list(os.environ):
        if key.startswith("VITRIEVE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("VITRIEVE_HOME", str(tmp_path / "home"))

    def exec_recorder(path: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        raise Handover(argv, dict(os.environ) if env is None else env)

    # Any exec: this process must never become a server that listens beyond loopback.
    for name in ("execv", "execve"):
        monkeypatch.setattr(os, name, exec_recorder)

    def run(*args: str, **env: str) -> Handover:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(app, ["ui", *args])
        assert result.exception is not None, result.output
        raise result.exception

    return run


def address(handover: Handover) -> str:
    return handover.argv[handover.argv.index("--server.address") + 1]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "photos.example"])
def test_beyond_loopback_without_a_login_it_is_refused(ui, host):
    with pytest.raises(VitrieveError) as refused:
        ui("--host", host, "--port", "8080")
    assert str(refused.value) == REFUSAL.format(where=f"{host}:8080")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_on_loopback_no_password_is_needed(ui, host):
    with pytest.raises(Handover) as started:
        ui("--host", host)
    assert address(started.value) == host


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--no-password"], {}),
        ([], {"VITRIEVE_UI_ALLOW_NO_PASSWORD": "1"}),
        ([], {"VITRIEVE_UI_PASSWORD": "correct horse"}),
    ],
)
def test_beyond_loopback_it_starts_with_a_password_or_when_told_to_serve_open(ui, args, env):
    with pytest.raises(Handover) as started:
        ui("--host", "0.0.0.0", *args, **env)
    assert address(started.value) == "0.0.0.0"
    # and uvicorn believes no forwarded header (ui/client_address.py does, when configured)
    assert started.value.env["FORWARDED_ALLOW_IPS"] == ""


def test_a_password_or_oidc_in_the_secrets_file_counts(ui, secrets_file):
    secrets_file.write_text('password = "correct horse"\n')
    with pytest.raises(Handover):
        ui("--host", "0.0.0.0")
    secrets_file.write_text('[auth]\nclient_id = "vitrieve"\n')
    with pytest.raises(Handover):
        ui("--host", "0.0.0.0")


def test_an_empty_password_is_no_password(ui, secrets_file):
    secrets_file.write_text('password = ""\n')
    with pytest.raises(VitrieveError, match=r"^refusing to serve the UI on 0\.0\.0\.0:8501 "):
        ui("--host", "0.0.0.0", VITRIEVE_UI_PASSWORD="")


def test_a_secrets_file_that_cannot_be_read_is_named_not_taken_as_no_password(ui, secrets_file):
    secrets_file.write_text('password = "unterminated\n')
    with pytest.raises(VitrieveError) as refused:
        ui("--host", "0.0.0.0")
    assert str(refused.value).startswith(f"{secrets_file}: the UI's secrets are not valid TOML: ")


def test_the_real_command_exits_with_one_line_before_listening(tmp_path):
    """The command as a user runs it: exit status 1 and the one line, before Streamlit (which
    would bind the address) is even started."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VITRIEVE_", "STREAMLIT_"))}
    env |= {"VITRIEVE_HOME": str(tmp_path / "home"), "VITRIEVE_MODEL": str(TINY_VIT)}
    env |= {"HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "vitrieve", "ui", "--host", "0.0.0.0", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == ["error: " + REFUSAL.format(where=f"0.0.0.0:{port}")]
    assert proc.stdout == ""


def test_on_loopback_without_any_secrets_a_real_server_starts_open(tmp_path):
    with run_server(tmp_path / "home", tmp_path) as server, server.client() as visitor:
        assert visitor.rerun().texts("heading")[:1] == ["Search by example"]

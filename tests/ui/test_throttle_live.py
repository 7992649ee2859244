"""The login throttle on a real `vitrieve ui` (127.0.0.1), over its websocket, against a client
that writes whatever forwarded headers it likes. The wait after one wrong password is 30 s, far
longer than each test: every refusal below is the lockout, never a slow machine.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import REPO, Server, run_server, unlock

PASSWORD = "s3cret-phrase"
SECRETS = f'password = "{PASSWORD}"\n'
LOCKOUT = {"VITRIEVE_UI_LOGIN_DELAY": "30"}
LOCKED = "Too many wrong passwords: try again in"
WRONG = "Wrong password. The next try is possible in 30 s."
OPENED = "Search by example"


def try_password(server: Server, password: str, headers: dict[str, str] | None = None) -> str:
    """One try in a new session: the app's heading when it opened, else the login's notice."""
    with server.client(headers) as session:
        run = unlock(session, password)
    if run.texts("heading")[:1] == [OPENED]:
        return OPENED
    return (run.texts("alert") or ["(no notice)"])[0]


def test_a_forged_forwarded_for_does_not_lift_the_lockout(tmp_path):
    """No proxy configured: X-Forwarded-For from a local client is just text (uvicorn would
    have taken it as the client's address, one fresh address per guess)."""
    with run_server(tmp_path / "home", tmp_path, secrets=SECRETS, **LOCKOUT) as server:
        assert try_password(server, "guess") == WRONG
        for forged in ("203.0.113.9", "198.51.100.2, 203.0.113.9", "::1"):
            refused = try_password(server, PASSWORD, {"X-Forwarded-For": forged})
            assert refused.startswith(LOCKED), (forged, refused)
        assert try_password(server, PASSWORD).startswith(LOCKED)


def test_behind_a_trusted_proxy_its_report_of_the_client_counts(tmp_path):
    """The peer (127.0.0.1) is a trusted proxy, with an inner one on 10.0.0.0/8: the client is
    the right-most address that is not a proxy. The guesser waits in every new session and
    with a forged first entry, while another client behind the same proxies logs straight in."""
    with run_server(
        tmp_path / "home",
        tmp_path,
        secrets=SECRETS,
        VITRIEVE_UI_CLIENT_IP_HEADER="X-Forwarded-For",
        VITRIEVE_UI_TRUSTED_PROXIES="127.0.0.1,10.0.0.0/8",
        **LOCKOUT,
    ) as server:
        assert try_password(server, "guess", {"X-Forwarded-For": "203.0.113.7, 10.0.0.2"}) == WRONG
        for forged in ("203.0.113.7, 10.0.0.2", "198.51.100.2, 203.0.113.7, 10.0.0.2"):
            refused = try_password(server, PASSWORD, {"X-Forwarded-For": forged})
            assert refused.startswith(LOCKED), (forged, refused)
        other = {"X-Forwarded-For": "198.51.100.3, 10.0.0.2"}
        assert try_password(server, PASSWORD, other) == OPENED


def test_the_header_from_a_peer_that_is_not_a_trusted_proxy_is_ignored(tmp_path):
    """The header is configured but the only trusted proxy is elsewhere (192.0.2.1): this
    local peer is one client whatever address it writes."""
    with run_server(
        tmp_path / "home",
        tmp_path,
        secrets=SECRETS,
        VITRIEVE_UI_CLIENT_IP_HEADER="X-Forwarded-For",
        VITRIEVE_UI_TRUSTED_PROXIES="192.0.2.1",
        **LOCKOUT,
    ) as server:
        assert try_password(server, "guess", {"X-Forwarded-For": "203.0.113.7"}) == WRONG
        refused = try_password(server, PASSWORD, {"X-Forwarded-For": "198.51.100.2"})
        assert refused.startswith(LOCKED), refused


def test_the_server_will_not_load_where_uvicorn_would_believe_forwarded_headers(tmp_path):
    """`streamlit run ui/server.py` without `vitrieve ui`: uvicorn would take X-Forwarded-For
    from any loopback client, so the app refuses to load, in one line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VITRIEVE_", "FORWARDED_"))}
    env |= {"VITRIEVE_HOME": str(tmp_path / "home"), "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", "import vitrieve.ui.server"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "vitrieve: start the UI with `vitrieve ui`, or set FORWARDED_ALLOW_IPS='' for uvicorn: "
        "otherwise any local client could choose its address for the login throttle "
        "(docs/UI.md, Access control)"
    )

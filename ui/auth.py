"""Who may use the UI: OIDC through `st.login` when `[auth]` is configured in Streamlit
secrets, else a shared password when VITRIEVE_UI_PASSWORD or `password` in the secrets is set,
else anyone who can reach the port (which is localhost by default; `vitrieve ui` refuses any
other address without a login, ui/exposure.py). Password tries are throttled per client: each
wrong one doubles the wait before that client's next (ui/throttle.py), the client being the
address ui/client_address.py settled on when the websocket opened.

`.streamlit/secrets.toml` (next to where `vitrieve ui` runs, or in ~/.streamlit/):

    password = "correct horse battery staple"

or, for OIDC (see Streamlit's st.login documentation for the provider keys):

    [auth]
    redirect_uri = "http://localhost:8501/oauth2callback"
    cookie_secret = "a long random string"
    client_id = "..."
    client_secret = "..."
    server_metadata_url = "https://accounts.example.com/.well-known/openid-configuration"
"""

from __future__ import annotations

import hmac
import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from vitrieve.core.config import Settings
from vitrieve.core.errors import VitrieveError
from vitrieve.ui.components.download import end_session_downloads
from vitrieve.ui.throttle import Backoff, LoginThrottle, client_key, describe_wait

_PASSWORD_OK = "_vitrieve_password_ok"
_PASSWORD = "_vitrieve_password"
_NOTICE = "_vitrieve_password_notice"
# One ledger per backoff in this server process, shared by every session (ui/throttle.py).
_THROTTLES: dict[Backoff, LoginThrottle] = {}
_THROTTLES_LOCK = threading.Lock()
# Sessions past the gate on their latest run, for ui/stream_guard.py (which lets only them
# ask for upload URLs and backend operations).
_ADMITTED: set[str] = set()
_ADMITTED_LOCK = threading.Lock()


def _secrets() -> Mapping[str, Any]:
    """Streamlit secrets, or {} when there is no secrets file (which raises on access)."""
    try:
        return dict(st.secrets)
    except Exception:  # StreamlitSecretNotFoundError, or a secrets file that fails to parse
        return {}


def expected_password(secrets: Mapping[str, Any], settings: Settings) -> str:
    """The shared password: VITRIEVE_UI_PASSWORD, else `password` in the secrets; "" for none."""
    if settings.ui_password is not None and settings.ui_password.get_secret_value():
        return settings.ui_password.get_secret_value()
    return str(secrets.get("password") or "")


def configured_login(settings: Settings) -> str | None:
    """'OIDC' or 'password' when a visitor must log in, None when the UI is open. Read at start
    by `vitrieve ui`, before the server exists, from the places Streamlit will read (its
    `secrets.files`: TOML files, or folders of Kubernetes-style secrets, one folder per key).
    Streamlit's own loader is not used here: it exports the secrets into os.environ and starts
    file watchers. A secrets file that exists but cannot be read is an error naming it, never
    taken as "no password"."""
    from streamlit import config

    secrets: dict[str, Any] = {}
    for name in config.get_option("secrets.files"):
        path = Path(name)
        if name.endswith(".toml"):
            secrets.update(_read_secrets_toml(path))
        elif path.is_dir():
            secrets.update({entry.name: _folder_secret(entry) for entry in path.iterdir()})
    if "auth" in secrets:
        return "OIDC"
    return "password" if expected_password(secrets, settings) else None


def _read_secrets_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise VitrieveError(f"{path}: cannot read the UI's secrets: {exc.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VitrieveError(f"{path}: the UI's secrets are not valid TOML: {exc}") from None


def _folder_secret(folder: Path) -> str:
    """A Kubernetes-style secret: the text of the folder's files ("" for none)."""
    if not folder.is_dir():
        return ""
    try:
        files = [f for f in folder.iterdir() if f.is_file()]
        return "".join(f.read_text(encoding="utf-8").strip() for f in files)
    except (OSError, UnicodeDecodeError) as exc:
        raise VitrieveError(f"{folder}: cannot read the UI's secret: {exc}") from None


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing does not leak the password."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def has_access() -> bool:
    """True when this session may see the app; otherwise `login_page` must be shown."""
    secrets = _secrets()
    if "auth" in secrets:
        return bool(st.user.is_logged_in)
    if expected_password(secrets, Settings()):
        return bool(st.session_state.get(_PASSWORD_OK))
    return True


def gate() -> bool:
    """has_access() for this run, remembered per session for the websocket guard."""
    ok = has_access()
    ctx = get_script_run_ctx()
    if ctx is not None:
        with _ADMITTED_LOCK:
            (_ADMITTED.add if ok else _ADMITTED.discard)(ctx.session_id)
    return ok


def is_admitted(session_id: str) -> bool:
    with _ADMITTED_LOCK:
        return session_id in _ADMITTED


def forget_session(session_id: str) -> None:
    with _ADMITTED_LOCK:
        _ADMITTED.discard(session_id)


def login_page() -> None:
    """The only page a visitor without access can reach."""
    st.title("vitrieve")
    secrets = _secrets()
    if "auth" in secrets:
        providers = _providers(secrets["auth"])
        st.write("Log in to search your collection.")
        if not providers:
            st.button("Log in", on_click=st.login, icon=":material/login:")
        for name in providers:
            st.button(f"Log in with {name}", on_click=st.login, args=(name,), key=f"login-{name}")
        return
    with st.form("password-form"):
        st.text_input("Password", type="password", key=_PASSWORD)
        st.form_submit_button("Unlock", on_click=_check_password, icon=":material/lock_open:")
    notice = st.session_state.pop(_NOTICE, None)
    if isinstance(notice, str):
        st.error(notice)


def login_throttle(settings: Settings) -> LoginThrottle:
    backoff = Backoff(settings.ui_login_delay, settings.ui_login_delay_max)
    with _THROTTLES_LOCK:
        return _THROTTLES.setdefault(backoff, LoginThrottle(backoff))


def current_client() -> str:
    """The throttle's key for this session's client (ui/throttle.py: client_key). The address
    is the websocket's `client` as ui/stream_guard.py left it: the socket's peer, or the one
    ui/client_address.py found in the configured header from a trusted proxy. Never a header
    read here: whoever connects writes the headers."""
    return client_key(st.context.ip_address)


def _check_password() -> None:
    """Form callback: runs before the script, so a right password opens the app in this run.

    Every submission is one try for the throttle. A value that is not a string (a forged
    widget state) is a wrong password like any other, not an error."""
    try:
        given = st.session_state.pop(_PASSWORD, "")
    except Exception:  # a forged widget state Streamlit cannot deserialize
        given = None
    given = given if isinstance(given, str) else None
    settings = Settings()
    expected = expected_password(_secrets(), settings)
    attempt = login_throttle(settings).attempt(
        current_client(),
        lambda: bool(expected) and given is not None and password_matches(given, expected),
    )
    if attempt.ok:
        st.session_state[_PASSWORD_OK] = True
    elif not attempt.checked:
        st.session_state[_NOTICE] = (
            f"Too many wrong passwords: try again in {describe_wait(attempt.wait_s)}. "
            "This try was not checked."
        )
    else:
        st.session_state[_NOTICE] = (
            f"Wrong password. The next try is possible in {describe_wait(attempt.wait_s)}."
        )


def logout_control() -> None:
    """A sidebar control to end the session, when there is something to end."""
    secrets = _secrets()
    if "auth" in secrets and st.user.is_logged_in:
        who = st.user.get("email") or st.user.get("name") or "signed in"
        st.sidebar.caption(f"Signed in as {who}")
        st.sidebar.button("Log out", on_click=_logout, icon=":material/logout:")
    elif expected_password(secrets, Settings()) and st.session_state.get(_PASSWORD_OK):
        st.sidebar.button("Lock", on_click=_lock, key="lock", icon=":material/lock:")


def _lock() -> None:
    st.session_state.pop(_PASSWORD_OK, None)
    end_session_downloads()


def _logout() -> None:
    end_session_downloads()
    st.logout()


def _providers(auth: Any) -> list[str]:
    """Named providers ([auth.google], ...) unless one provider is configured in [auth] itself."""
    if not isinstance(auth, Mapping) or "client_id" in auth:
        return []
    return sorted(k for k, v in auth.items() if isinstance(v, Mapping))

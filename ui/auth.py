"""Who may use the UI: OIDC through `st.login` when `[auth]` is configured in Streamlit
secrets, else a shared password when `password` is set there, else anyone who can reach the
port (which is localhost by default).

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
from collections.abc import Mapping
from typing import Any

import streamlit as st

_PASSWORD_OK = "_vitrieve_password_ok"


def _secrets() -> Mapping[str, Any]:
    """Streamlit secrets, or {} when there is no secrets file (which raises on access)."""
    try:
        return dict(st.secrets)
    except Exception:  # StreamlitSecretNotFoundError, or a secrets file that fails to parse
        return {}


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing does not leak the password."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def has_access() -> bool:
    """True when this session may see the app; otherwise `login_page` must be shown."""
    secrets = _secrets()
    if "auth" in secrets:
        return bool(st.user.is_logged_in)
    if secrets.get("password"):
        return bool(st.session_state.get(_PASSWORD_OK))
    return True


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
        st.text_input("Password", type="password", key="_vitrieve_password")
        st.form_submit_button("Unlock", on_click=_check_password, icon=":material/lock_open:")
    if st.session_state.pop("_vitrieve_password_wrong", False):
        st.error("Wrong password.")


def _check_password() -> None:
    """Form callback: runs before the script, so a right password opens the app in this run."""
    given = st.session_state.pop("_vitrieve_password", "") or ""
    expected = str(_secrets().get("password", ""))
    if expected and password_matches(given, expected):
        st.session_state[_PASSWORD_OK] = True
    else:
        st.session_state["_vitrieve_password_wrong"] = True


def logout_control() -> None:
    """A sidebar control to end the session, when there is something to end."""
    secrets = _secrets()
    if "auth" in secrets and st.user.is_logged_in:
        who = st.user.get("email") or st.user.get("name") or "signed in"
        st.sidebar.caption(f"Signed in as {who}")
        st.sidebar.button("Log out", on_click=st.logout, icon=":material/logout:")
    elif secrets.get("password") and st.session_state.get(_PASSWORD_OK):
        st.sidebar.button("Lock", on_click=_lock, key="lock", icon=":material/lock:")


def _lock() -> None:
    st.session_state.pop(_PASSWORD_OK, None)


def _providers(auth: Any) -> list[str]:
    """Named providers ([auth.google], ...) unless one provider is configured in [auth] itself."""
    if not isinstance(auth, Mapping) or "client_id" in auth:
        return []
    return sorted(k for k, v in auth.items() if isinstance(v, Mapping))

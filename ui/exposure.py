"""Whether `vitrieve ui` may listen where it was asked to: on this machine only (loopback), or
beyond it with a login configured, or beyond it open on purpose (--no-password, or
VITRIEVE_UI_ALLOW_NO_PASSWORD=1). Whoever can use the UI can ingest any folder the server can
read and move files to a quarantine, so an open UI on a network is never the default.

The check runs before the server starts, so a refused address is never bound.
"""

from __future__ import annotations

from vitrieve.core.config import Settings
from vitrieve.core.errors import VitrieveError
from vitrieve.ui.client_address import parse_ip


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (also as [::1]) and 'localhost'; anything else (0.0.0.0, ::, a name,
    a LAN address) may be reachable from other machines."""
    name = host.strip().lower().removeprefix("[").removesuffix("]")
    if name == "localhost":
        return True
    ip = parse_ip(name)
    return ip is not None and ip.is_loopback


def check_exposure(host: str, port: int, settings: Settings, *, no_password: bool) -> None:
    """Raises a one-line VitrieveError when `host` is beyond this machine and no login (a
    password or OIDC, ui/auth.py) is configured, unless running open was asked for."""
    if is_loopback(host) or no_password or settings.ui_allow_no_password:
        return
    from vitrieve.ui.auth import configured_login  # imports Streamlit: only when needed

    if configured_login(settings) is not None:
        return
    raise VitrieveError(
        f"refusing to serve the UI on {host}:{port} without a password: anyone who can reach "
        "it could use it; set VITRIEVE_UI_PASSWORD (or `password` in .streamlit/secrets.toml), "
        "or pass --no-password (VITRIEVE_UI_ALLOW_NO_PASSWORD=1) to serve it open on purpose"
    )

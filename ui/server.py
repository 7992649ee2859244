"""The web server `vitrieve ui` runs: Streamlit's `st.App` around ui/app.py, plus what the UI's
security needs at the HTTP level (docs/UI.md, Safety):

- the route that serves "Download original" links (ui/originals.py), instead of Streamlit's
  `/media` endpoint, which serves to anyone holding a URL;
- a guard on the websocket (ui/stream_guard.py): no server path in `new_session`, no
  `clear_cache` / `load_git_info` / debug messages from any client, and no uploads or backend
  operations from a visitor who is not past the login gate; it also sets the connection's
  client address, the login throttle's key, from the socket's peer (ui/client_address.py);
- `on_script_error`: a visitor who is not past the login gate gets no error display at all (a
  forged widget state that breaks a run is ignored quietly); users get Streamlit's generic
  notice, since `vitrieve ui` sets `client.showErrorDetails` to "none". Details go to the log.

`streamlit run ui/server.py` finds `app` below and serves it with uvicorn. `vitrieve ui` starts
it with uvicorn's own X-Forwarded-For handling off (it would hand any loopback client the
address it writes in that header); a server started otherwise, with it on, refuses to load.
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio.to_thread
import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from streamlit import config

from vitrieve.core.config import Settings
from vitrieve.ui import gc_freeze, originals
from vitrieve.ui.auth import forget_session, is_admitted
from vitrieve.ui.client_address import UVICORN_TRUSTS_NOBODY, ClientAddress
from vitrieve.ui.stream_guard import StreamGuard

APP_SCRIPT = Path(__file__).with_name("app.py")
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _not_found() -> Response:
    """The one answer to every refused download, so a refusal says nothing about why."""
    return PlainTextResponse(
        "Not found. A download link works only in the browser it was shown in, for a short "
        "while: open the image in vitrieve again.",
        status_code=404,
        headers=NO_STORE,
    )


def _session_alive(session_id: str) -> bool:
    from streamlit import runtime

    return runtime.exists() and runtime.get_instance().is_active_session(session_id)


async def serve_original(request: Request) -> Response:
    browser = originals.browser_token(request.cookies.get(originals.XSRF_COOKIE))
    grant = originals.GRANTS.redeem(request.path_params["token"], browser)
    if grant is None or not _session_alive(grant.session_id):
        return _not_found()
    opened = await anyio.to_thread.run_sync(originals.open_approved, grant)
    if opened is None:
        return _not_found()
    return originals.file_response(opened, grant, head=request.method == "HEAD", headers=NO_STORE)


def _quiet_for_visitors(exc: Exception) -> bool:
    """True (show nothing) unless the session is past the login gate."""
    from vitrieve.ui.auth import has_access

    try:
        return not has_access()
    except Exception:
        return True


def _route_path() -> str:
    return originals.link(str(config.get_option("server.baseUrlPath") or ""), "{token}")


def _uvicorn_trusts_nobody() -> None:
    """uvicorn reads FORWARDED_ALLOW_IPS before it loads this module, and rewrites every
    request's client from X-Forwarded-For for the peers it lists (default: loopback)."""
    for name, value in UVICORN_TRUSTS_NOBODY.items():
        if os.environ.get(name) != value:
            raise SystemExit(
                f"vitrieve: start the UI with `vitrieve ui`, or set {name}={value!r} for "
                "uvicorn: otherwise any local client could choose its address for the login "
                "throttle (docs/UI.md, Access control)"
            )


_uvicorn_trusts_nobody()
originals.mark_mounted()
gc_freeze.enable()  # Streamlit's collection after each run skips what imports made
app = st.App(
    str(APP_SCRIPT),
    routes=[Route(_route_path(), serve_original, methods=["GET", "HEAD"])],
    middleware=[
        Middleware(
            StreamGuard,
            script_name=APP_SCRIPT.name,
            admitted=is_admitted,
            forget=forget_session,
            resolve_client=ClientAddress.from_settings(Settings()).resolve,
        )
    ],
    on_script_error=_quiet_for_visitors,
)

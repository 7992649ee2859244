"""'Download original': a link that serves one file to one browser, for a short while.

Why not `st.download_button`: its bytes go to Streamlit's `/media` endpoint, which hands them
to anyone who has the URL, without a cookie, for as long as they stay in memory (a download
outlives its session until two more script runs happen anywhere on the server). Originals go
through vitrieve's own route instead (`ui/server.py` mounts it), which serves a file only when
every one of these holds, and otherwise answers one and the same 404:

- the link was issued to a session past the login gate (the page issues none before);
- that session is still connected and has not locked, logged out or moved on (its next full
  run revokes the links of the previous one; the dialog that shows a link issues a fresh one);
- the request carries the same browser cookie as that session (Streamlit's XSRF cookie,
  compared by the token it holds, which a page reload keeps);
- the link is younger than `ui_download_ttl`;
- the file is still at the very path that `search.files.servable_path` approved: it is opened
  from `/` without following any link (`indexer.reader.open_real_path`), and the response is
  streamed from that open file, so a file or folder swapped for a link, before or during the
  request, is never read.
"""

from __future__ import annotations

import hmac
import mimetypes
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from starlette.responses import StreamingResponse

from vitrieve.indexer.reader import ReadError, open_real_path

ROUTE = "vitrieve/original/{token}"
XSRF_COOKIE = "_streamlit_xsrf"
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Grant:
    path: Path  # resolved, approved by servable_path when issued
    session_id: str
    browser: bytes  # the XSRF token of the session's browser
    expires: float  # on the registry's clock


class Grants:
    """The live download links of this server process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def issue(self, path: Path, session_id: str, browser: bytes, ttl_s: float) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            for old in [t for t, g in self._grants.items() if g.expires <= now]:
                del self._grants[old]
            self._grants[token] = Grant(path, session_id, browser, now + ttl_s)
        return token

    def revoke_session(self, session_id: str) -> None:
        with self._lock:
            for token in [t for t, g in self._grants.items() if g.session_id == session_id]:
                del self._grants[token]

    def redeem(self, token: str, browser: bytes | None) -> Grant | None:
        """The grant behind `token` if it is alive and `browser` is the one it was issued to.
        Not consumed: a browser may ask twice (a HEAD first, a resumed transfer)."""
        with self._lock:
            grant = self._grants.get(token)
            if grant is None or grant.expires <= self.clock():
                return None
        if browser is None or not hmac.compare_digest(browser, grant.browser):
            return None
        return grant


GRANTS = Grants()
_mounted = threading.Event()


def mark_mounted() -> None:
    """Called by ui/server.py: the route exists in this process, so links can be shown."""
    _mounted.set()


def is_mounted() -> bool:
    return _mounted.is_set()


def browser_token(cookie: str | None) -> bytes | None:
    """The token inside Streamlit's XSRF cookie (its masked text changes, the token does not)."""
    if not cookie:
        return None
    from streamlit.web.server.starlette.starlette_app_utils import decode_xsrf_token_string

    token, _ = decode_xsrf_token_string(cookie)
    return token or None


def link(base_url_path: str, token: str) -> str:
    base = base_url_path.strip("/")
    return "/" + "/".join(p for p in (base, ROUTE.format(token=token)) if p)


def open_approved(grant: Grant) -> BinaryIO | None:
    """The approved file, open for reading, if it is still a regular file at the approved path
    reached without any link (none below `/`: that path was resolved when it was approved)."""
    try:
        fd = open_real_path(grant.path)
    except ReadError:
        return None
    return os.fdopen(fd, "rb")


def file_response(
    fh: BinaryIO, grant: Grant, *, head: bool, headers: Mapping[str, str]
) -> StreamingResponse:
    """The download of the open file `fh` as an attachment, streamed from that descriptor
    (never by path again, unlike Starlette's FileResponse); the file is closed when it ends."""
    size = os.fstat(fh.fileno()).st_size
    name = download_name(grant.path)
    quoted = quote(name)
    disposition = (
        f"attachment; filename*=utf-8''{quoted}"
        if quoted != name
        else f'attachment; filename="{name}"'
    )

    def chunks() -> Iterator[bytes]:
        left = 0 if head else size  # never more than Content-Length, should the file grow
        with fh:
            while left > 0 and (chunk := fh.read(min(_CHUNK, left))):
                left -= len(chunk)
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type=media_type(grant.path),
        headers={**headers, "Content-Length": str(size), "Content-Disposition": disposition},
    )


def download_name(path: Path) -> str:
    """The name for Content-Disposition; undecodable bytes of a file name become U+FFFD."""
    return os.fsencode(path.name).decode("utf-8", "replace")


def media_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"

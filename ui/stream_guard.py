"""ASGI middleware on Streamlit's websocket (`/_stcore/stream`): what a client may ask, and what
it is told about the server.

Streamlit answers some messages from any client, logged in or not, that this app never needs:
`load_git_info` (the checkout's remote, branch and lists of changed files), `clear_cache`
(empties every `st.cache_*` for all users, and the sender's session state), `set_run_on_save`
and the `debug_*` ones. They are dropped here, before Streamlit sees them. A visitor who is not
past the login gate may only run the app (the login page), stop and keep alive: no upload URLs
(files would sit in server memory for a session that has no uploader) and no backend
operations. Every new session also starts with a `new_session` message holding the absolute
path of the app script on the server (`main_script_path`; the browser only hashes it into an
app id), which is cut to the file name.

It also settles who the client is before Streamlit sees the connection: the websocket's
`client` becomes what `resolve_client` (ui/client_address.py) makes of the socket's peer and
the request headers, so `st.context.ip_address`, which the login throttle keys on, is never
an address a client merely wrote into a header.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

# What the browser sends in normal use ...
FOR_EVERYONE = frozenset({"rerun_script", "stop_script", "app_heartbeat"})
# ... and what only a session past the gate needs: uploads, and backend operations (lazy
# dataframe chunks, deferred files; Streamlit gates its own risky ones further).
FOR_USERS = frozenset({"file_urls_request", "backend_operation_request"})
UNPARSEABLE = "unparseable"


def message_type(frame: bytes) -> str | None:
    """The BackMsg's type; UNPARSEABLE for a frame that is not one (it passes, for Streamlit
    to refuse: it closes the connection as a protocol error, without a traceback)."""
    msg = BackMsg()
    try:
        msg.ParseFromString(frame)
    except Exception:
        return UNPARSEABLE
    return msg.WhichOneof("type")


def redact(frame: bytes, script_name: str) -> tuple[bytes, str | None]:
    """`frame` with a new_session's script path cut to its file name (other frames unchanged),
    and the session id a new_session names."""
    msg = ForwardMsg()
    try:
        msg.ParseFromString(frame)
    except Exception:
        return frame, None
    if msg.WhichOneof("type") != "new_session":
        return frame, None
    msg.new_session.main_script_path = script_name
    return msg.SerializeToString(), msg.new_session.initialize.session_id or None


class StreamGuard:
    """`Middleware(StreamGuard, script_name="app.py", admitted=..., forget=...,
    resolve_client=...)` in `st.App(middleware=...)`. `admitted(session_id)` says whether a
    session is past the login gate; `forget(session_id)` is called when its websocket closes;
    `resolve_client(peer, headers)` is the client's address for a connection from `peer`."""

    def __init__(
        self,
        app: ASGIApp,
        script_name: str,
        admitted: Callable[[str], bool],
        forget: Callable[[str], None],
        resolve_client: Callable[[str | None, Headers], str | None],
    ) -> None:
        self.app = app
        self.script_name = script_name
        self.admitted = admitted
        self.forget = forget
        self.resolve_client = resolve_client
        self._needle = script_name.encode()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send):
        if scope["type"] != "websocket" or not scope["path"].endswith("_stcore/stream"):
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        host = peer[0] if peer else None
        client = self.resolve_client(host, list(scope.get("headers", ())))
        if client is not None and client != host:  # a trusted proxy's report of its client
            scope = {**scope, "client": (client, 0)}
        session: list[str] = []  # learnt from the first new_session Streamlit sends

        def accepts(kind: str | None) -> bool:
            if kind in FOR_EVERYONE or kind == UNPARSEABLE:
                return True
            return kind in FOR_USERS and bool(session) and self.admitted(session[-1])

        async def guarded_receive() -> Message:
            while True:
                message = await receive()
                frame = message.get("bytes")
                if message["type"] == "websocket.receive" and frame:
                    kind = message_type(frame)
                    if not accepts(kind):
                        log.warning("dropped a websocket message (%s) not for this client", kind)
                        continue
                return message

        async def redacting_send(message: Message) -> None:
            frame = message.get("bytes")
            # Only a frame that contains the script's name can hold its path: parse just those.
            if message["type"] == "websocket.send" and frame and self._needle in frame:
                frame, session_id = redact(frame, self.script_name)
                message = {**message, "bytes": frame}
                if session_id and session_id not in session:
                    session.append(session_id)
            await send(message)

        try:
            await self.app(scope, guarded_receive, redacting_send)
        finally:
            for session_id in session:
                self.forget(session_id)

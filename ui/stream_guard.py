"""ASGI middleware on Streamlit's websocket (`/_stcore/stream`): what a client may ask, and what
it is told about the server.

Streamlit answers some messages from any client, logged in or not, that this app never needs:
`load_git_info` (the checkout's remote, branch and lists of changed files), `clear_cache`
(empties every `st.cache_*` for all users), `set_run_on_save` and the `debug_*` ones. They are
dropped here, before Streamlit sees them. Every new session also starts with a `new_session`
message holding the absolute path of the app script on the server (`main_script_path`; the
browser only hashes it into an app id), which is cut to the file name.
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
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

# What the browser sends in normal use: runs, stops, keep-alives, upload URLs, and backend
# operations (lazy dataframe chunks, deferred files; Streamlit gates its own risky ones).
ALLOWED = frozenset(
    {
        "rerun_script",
        "stop_script",
        "app_heartbeat",
        "file_urls_request",
        "backend_operation_request",
    }
)


def allowed(frame: bytes) -> bool:
    """True for a message type the app needs; an unparseable frame passes, for Streamlit to
    refuse (it closes the connection as a protocol error, without a traceback)."""
    msg = BackMsg()
    try:
        msg.ParseFromString(frame)
    except Exception:
        return True
    return msg.WhichOneof("type") in ALLOWED


def redact(frame: bytes, script_name: str) -> bytes:
    """`frame` with a new_session's script path cut to its file name; other frames unchanged."""
    msg = ForwardMsg()
    try:
        msg.ParseFromString(frame)
    except Exception:
        return frame
    if msg.WhichOneof("type") != "new_session":
        return frame
    msg.new_session.main_script_path = script_name
    return msg.SerializeToString()


class StreamGuard:
    """`Middleware(StreamGuard, script_name="app.py")` in `st.App(middleware=...)`."""

    def __init__(self, app: ASGIApp, script_name: str) -> None:
        self.app = app
        self.script_name = script_name
        self._needle = script_name.encode()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send):
        if scope["type"] != "websocket" or not scope["path"].endswith("_stcore/stream"):
            await self.app(scope, receive, send)
            return

        async def guarded_receive() -> Message:
            while True:
                message = await receive()
                frame = message.get("bytes")
                if message["type"] == "websocket.receive" and frame and not allowed(frame):
                    log.warning("dropped a websocket message the app does not accept")
                    continue
                return message

        async def redacting_send(message: Message) -> None:
            frame = message.get("bytes")
            # Only a frame that contains the script's name can hold its path: parse just those.
            if message["type"] == "websocket.send" and frame and self._needle in frame:
                message = {**message, "bytes": redact(frame, self.script_name)}
            await send(message)

        await self.app(scope, guarded_receive, redacting_send)

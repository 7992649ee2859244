"""A real `vitrieve ui` server for one test, on a free 127.0.0.1 port, and a minimal client of
Streamlit's websocket protocol (what a browser, or a hostile script, sends and receives).

The server runs in its own process group with a throwaway HOME (no developer secrets or
config) and cwd, so `.streamlit/secrets.toml` there is the only secret it sees.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.support.cli import REPO
from tests.support.photos import TINY_VIT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """A plain HTTP GET (no cookies unless given): status and body."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def client(self, headers: dict[str, str] | None = None) -> StreamClient:
        return StreamClient.open(self, headers)


@contextlib.contextmanager
def run_server(
    home: Path, workdir: Path, *, secrets: str | None = None, **env: str
) -> Iterator[Server]:
    """`vitrieve ui` on a free port with VITRIEVE_HOME=home; extra VITRIEVE_* settings in env."""
    user = workdir / "user-home"
    user.mkdir(parents=True, exist_ok=True)
    if secrets is not None:
        (workdir / ".streamlit").mkdir(exist_ok=True)
        (workdir / ".streamlit" / "secrets.toml").write_text(secrets)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VITRIEVE_", "STREAMLIT_"))}
    base |= {
        "VITRIEVE_HOME": str(home),
        "VITRIEVE_MODEL": str(TINY_VIT),
        "VITRIEVE_PRECISION": "fp32",
        "VITRIEVE_RUNTIME": "torch",
        "VITRIEVE_AUTO_CALIBRATE": "false",
        "HOME": str(user),
        "PYTHONPATH": str(REPO),
    }
    port = free_port()
    log = workdir / "ui.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vitrieve", "ui", "--port", str(port)],
            env=base | env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_healthy(server: Server, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(f"vitrieve ui exited with {server.proc.returncode}:\n{server.output()}")
        with contextlib.suppress(OSError):
            status, body = server.get("/_stcore/health")
            if status == 200 and body.strip() == b"ok":
                return
        time.sleep(0.25)
    pytest.fail(f"vitrieve ui did not answer within {timeout:.0f} s:\n{server.output()}")


@dataclass
class Run:
    """What one message brought back: every frame as sent, and the parsed messages."""

    frames: list[bytes] = field(default_factory=list)
    messages: list[ForwardMsg] = field(default_factory=list)
    closed: int | None = None  # the close code, if the server hung up

    def elements(self, kind: str) -> list:
        found = []
        for msg in self.messages:
            if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                if element.WhichOneof("type") == kind:
                    found.append(getattr(element, kind))
        return found

    def widget_id(self, kind: str, label: str) -> str:
        return next(e.id for e in self.elements(kind) if e.label == label)

    def texts(self, kind: str) -> list[str]:
        return [e.body for e in self.elements(kind)]


@dataclass
class StreamClient:
    """One websocket session, speaking Streamlit's protobuf protocol directly."""

    ws: ClientConnection
    _stack: contextlib.ExitStack

    @classmethod
    def open(cls, server: Server, headers: dict[str, str] | None = None) -> StreamClient:
        stack = contextlib.ExitStack()
        ws = stack.enter_context(
            connect(
                f"ws://127.0.0.1:{server.port}/_stcore/stream",
                subprotocols=["streamlit"],
                origin=server.url,
                additional_headers=headers or {},
                open_timeout=30,
                max_size=None,
            )
        )
        return cls(ws, stack)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> StreamClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(
        self,
        msg: BackMsg | bytes,
        timeout: float = 60,
        until: Callable[[ForwardMsg], bool] | None = None,
    ) -> Run:
        """Sends one message and reads until the run it starts finishes, or a message `until`
        accepts arrives (or `timeout`, for a message that starts no run)."""
        run = Run()
        self.ws.send(msg if isinstance(msg, bytes) else msg.SerializeToString())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                frame = self.ws.recv(timeout=max(0.05, deadline - time.monotonic()))
            except TimeoutError:
                break
            except ConnectionClosed as exc:
                run.closed = exc.rcvd.code if exc.rcvd else None
                break
            assert isinstance(frame, bytes)
            msg = ForwardMsg()
            msg.ParseFromString(frame)
            run.frames.append(frame)
            run.messages.append(msg)
            if msg.WhichOneof("type") == "script_finished" or (until and until(msg)):
                break
        return run

    def rerun(self, widgets: dict[str, tuple[str, object]] | None = None, **state) -> Run:
        """A rerun with these widget states: {widget id: (value field, value)}."""
        return self.send(rerun_msg(widgets, **state))


def rerun_msg(widgets: dict[str, tuple[str, object]] | None = None, **state) -> BackMsg:
    msg = BackMsg()
    client_state = msg.rerun_script
    client_state.query_string = ""
    for widget_id, (value_field, value) in (widgets or {}).items():
        widget = client_state.widget_states.widgets.add()
        widget.id = widget_id
        setattr(widget, value_field, value)
    for name, value in state.items():
        setattr(client_state, name, value)
    return msg


def unlock(client: StreamClient, password: str) -> Run:
    """Types `password` into the login form and submits it, as the browser would."""
    form = client.rerun()
    field_id = form.widget_id("text_input", "Password")
    submit_id = form.widget_id("button", "Unlock")
    return client.rerun({field_id: ("string_value", password), submit_id: ("trigger_value", True)})

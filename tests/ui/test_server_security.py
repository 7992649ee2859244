"""The UI server as a hostile client meets it: a real `vitrieve ui` on 127.0.0.1, spoken to over
its websocket with hand-made (and forged) Streamlit messages, and over plain HTTP.

A visitor who has not given the password must never receive a traceback or a server path, and
whatever they forge is ignored quietly; a user's errors show as a generic notice only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.support import REPO, Run, Server, StreamClient, rerun_msg, run_server, unlock

PASSWORD = "s3cret-phrase"
SECRETS = f'password = "{PASSWORD}"\n'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module; tries are not throttled here (tests/ui/test_app_auth.py and
    test_throttle_live.py cover that), so one test's wrong password never delays another's."""
    workdir = tmp_path_factory.mktemp("server")
    with run_server(
        workdir / "home", workdir, secrets=SECRETS, VITRIEVE_UI_LOGIN_DELAY="0.001"
    ) as live:
        yield live


def server_paths(server: Server) -> list[bytes]:
    """Where the code, the server's folders and Python live: none of it may reach a client."""
    workdir = server.log.parent
    places = {REPO, workdir, Path(sys.prefix), Path(sys.base_prefix), Path.home()}
    return [str(p).encode() for p in places]


def assert_reveals_nothing(runs: list[Run], server: Server) -> None:
    for run in runs:
        for frame in run.frames:
            for place in server_paths(server):
                assert place not in frame, (place, frame[:400])
        assert run.elements("exception") == [], run.elements("exception")


def answer_to(client: StreamClient, msg: BackMsg) -> Run:
    """Everything the server sends after `msg`, a message that starts no run, up to the end of
    the run of a rerun sent right behind it. The server handles a session's messages in order,
    so an answer to `msg` comes before that run ends: no timeout to wait out."""
    client.send(msg, timeout=0)
    return client.rerun()


def test_a_visitor_never_receives_a_server_path_or_a_traceback(server):
    with server.client() as probe:
        form = probe.rerun()
    field_id = form.widget_id("text_input", "Password")
    submit_id = form.widget_id("button", "Unlock")
    forged = {
        "an id that exists nowhere": {"$$ID-0123456789abcdef-lock": ("trigger_value", True)},
        "an int for the password": {field_id: ("int_value", 5), submit_id: ("trigger_value", 1)},
        "broken JSON for the password": {
            field_id: ("json_value", "{not json"),
            submit_id: ("trigger_value", True),
        },
        "a float for the submit button": {submit_id: ("double_value", 1.5)},
    }
    runs = [form]
    for name, widgets in forged.items():
        with server.client() as visitor:  # widget ids are the same in every session
            visitor.rerun()
            run = visitor.rerun(widgets)
            runs += [run, visitor.rerun()]
        assert run.elements("exception") == [], name  # ignored quietly: no error display
        if name == "an int for the password":
            assert run.texts("alert")[0].startswith("Wrong password."), run.texts("alert")
    with server.client() as visitor:
        runs.append(visitor.rerun(page_script_hash="0" * 32))  # a page that is not registered
        runs.append(answer_to(visitor, rerun_msg(fragment_id="no-such-fragment")))
        assert [e.label for e in runs[-1].elements("text_input")] == ["Password"]
    assert "fragment with id no-such-fragment does not exist" in server.output()  # ignored
    assert_reveals_nothing(runs, server)
    assert server.get("/_stcore/health") == (200, b"ok")


def test_the_first_message_names_the_script_but_not_where_it_lives(server):
    with server.client() as visitor:
        run = visitor.rerun()
    [new_session] = [m.new_session for m in run.messages if m.WhichOneof("type") == "new_session"]
    assert new_session.main_script_path == "app.py"
    assert_reveals_nothing([run], server)


def test_git_details_and_cache_clearing_are_not_served_to_anyone(server):
    with server.client() as user:
        assert unlock(user, PASSWORD).texts("heading")[:1] == ["Search by example"]
        git = BackMsg()
        git.load_git_info = True
        clear = BackMsg()
        clear.clear_cache = True
        runs = [answer_to(user, git), answer_to(user, clear)]
        answers = {m.WhichOneof("type") for r in runs for m in r.messages}
        assert "git_info_changed" not in answers
        # clear_cache would also have wiped this session's state, i.e. logged it out.
        assert runs[-1].texts("heading")[:1] == ["Search by example"]
    for kind in ("load_git_info", "clear_cache"):  # never reached Streamlit: no late answer
        assert f"dropped a websocket message ({kind})" in server.output()


def upload_urls_request() -> BackMsg:
    msg = BackMsg()
    msg.file_urls_request.request_id = "r1"
    msg.file_urls_request.file_names.append("big.jpg")
    return msg


def test_only_a_logged_in_session_gets_upload_urls(server):
    """A visitor could otherwise park uploads (50 MB each) in server memory, with no uploader
    on their page to ever drop them."""
    with server.client() as visitor:
        visitor.rerun()
        asked = answer_to(visitor, upload_urls_request())
        assert not [m for m in asked.messages if m.HasField("file_urls_response")]
    with server.client() as user:
        unlock(user, PASSWORD)
        asked = user.send(
            upload_urls_request(), timeout=10, until=lambda m: m.HasField("file_urls_response")
        )
        [answer] = [
            m.file_urls_response for m in asked.messages if m.HasField("file_urls_response")
        ]
        assert answer.response_id == "r1" and answer.file_urls[0].upload_url
    assert "dropped a websocket message (file_urls_request)" in server.output()


def test_a_frame_that_is_not_a_message_closes_the_connection_without_a_traceback(server):
    with server.client() as visitor:
        visitor.rerun()
        run = visitor.send(b"\xff\xfe definitely not protobuf", timeout=10)
    assert run.closed == 1002
    assert_reveals_nothing([run], server)


def test_an_error_in_a_users_session_is_a_generic_notice_without_details(server):
    with server.client() as user:
        page = unlock(user, PASSWORD)
        lock_id = page.widget_id("button", "Lock")
        run = user.rerun({lock_id: ("json_value", "{not json")})  # breaks Streamlit itself
    [notice] = run.elements("exception")
    assert notice.stack_trace == [] and "JSON" not in notice.message + notice.type
    assert "/" not in notice.message
    for place in server_paths(server):
        assert all(place not in frame for frame in run.frames)
    assert "JSONDecodeError" in server.output()  # the details went to the server's log

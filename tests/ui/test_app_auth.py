"""The gate in front of every page: open by default, a password from secrets, or OIDC; and
the throttle on password tries (a wait that doubles per wrong password, per client)."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.support import APP, TIMEOUT, texts
from vitrieve.ui import auth
from vitrieve.ui.throttle import LOCAL, Backoff, LoginThrottle, describe_wait

PASSWORD = {"password": "s3cret-phrase"}
OIDC = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "vitrieve",
        "client_secret": "y",
        "server_metadata_url": "https://id.example.com/.well-known/openid-configuration",
    }
}


def unlock(at, password: str):
    at.text_input[0].input(password)
    next(b for b in at.button if b.label == "Unlock").click()
    return at.run()


def test_without_secrets_the_app_opens_on_search(catalog, open_page):
    at = open_page()
    assert texts(at.title) == ["Search by example"]


def test_a_configured_password_hides_every_page_until_given(catalog, open_page):
    at = open_page(secrets=PASSWORD)
    assert texts(at.title) == ["vitrieve"] and not at.file_uploader
    for page in ("search", "library", "status", "duplicates", "tags"):
        with pytest.raises(ValueError, match=r"Known pages: \['Log in'\]"):
            at.switch_page(f"app_pages/{page}.py")  # not even registered before login


def test_no_pages_folder_next_to_the_entry_script():
    """A `pages/` folder beside app.py puts Streamlit in legacy multipage mode, in which a
    requested page script runs without app.py, i.e. without the gate."""
    assert not (APP.parent / "pages").exists()


def test_a_wrong_password_is_refused(catalog, open_page, clock):
    at = unlock(open_page(secrets=PASSWORD), "guess")
    assert texts(at.error) == ["Wrong password. The next try is possible in 1 s."]
    assert texts(at.title) == ["vitrieve"]


def test_the_right_password_opens_the_app_and_lock_closes_it(catalog, open_page, clock):
    at = unlock(open_page(secrets=PASSWORD), PASSWORD["password"])
    assert texts(at.title) == ["Search by example"]
    next(b for b in at.sidebar.button if b.label == "Lock").click().run()
    assert texts(at.title) == ["vitrieve"]


def test_a_password_from_the_environment_gates_the_app_and_wins_over_the_file(
    catalog, open_page, clock, monkeypatch
):
    """VITRIEVE_UI_PASSWORD (the Docker stack's way): no secrets file needed; with both set,
    the variable is the password."""
    monkeypatch.setenv("VITRIEVE_UI_PASSWORD", "from-the-environment")
    at = open_page()
    assert texts(at.title) == ["vitrieve"] and not at.file_uploader
    assert texts(unlock(at, "from-the-environment").title) == ["Search by example"]
    at = unlock(open_page(secrets=PASSWORD), PASSWORD["password"])
    assert texts(at.title) == ["vitrieve"]
    clock.now += 1
    assert texts(unlock(at, "from-the-environment").title) == ["Search by example"]


def test_with_oidc_a_visitor_sees_only_the_login_button(catalog, open_page):
    at = open_page(secrets=OIDC, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in"]
    assert texts(at.title) == ["vitrieve"] and not at.file_uploader


def test_with_oidc_a_logged_in_user_gets_the_app(catalog, open_page):
    user = {"is_logged_in": True, "email": "ann@example.com", "name": "Ann"}
    at = open_page(secrets=OIDC, user=user)
    assert texts(at.title) == ["Search by example"]
    assert "Signed in as ann@example.com" in texts(at.sidebar.caption)


class Clock:
    """The throttle's clock, moved by hand: the waits are exact, and no test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


BACKOFF = Backoff(1.0, 300.0)  # the defaults: VITRIEVE_UI_LOGIN_DELAY / _DELAY_MAX


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """A fresh ledger for the app's default backoff, on a hand-moved clock."""
    fake = Clock()
    monkeypatch.setattr(auth, "_THROTTLES", {BACKOFF: LoginThrottle(BACKOFF, clock=fake)})
    return fake


def new_session() -> AppTest:
    """Another browser tab of the same client: a new session of the same server process."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets.update(PASSWORD)
    return at.run()


def reported_wait(at) -> float:
    """The wait the app tells the user about: "... in 16 s." or "... in 4 min 16 s."."""
    [notice] = texts(at.error)
    match = re.search(r"in (?:(\d+) min ?)?(?:(\d+) s)?\.", notice)
    assert match and any(match.groups()), notice
    minutes, seconds = (int(g or 0) for g in match.groups())
    return float(60 * minutes + seconds)


def test_each_wrong_password_doubles_the_wait_before_the_next_try(catalog, clock):
    """Ten wrong passwords, each sent the moment it is allowed: the app reports 1, 2, 4 ...
    512 s, and getting through all ten took at least the sum of the waits before them."""
    at = new_session()
    started = clock.now
    waits: list[float] = []
    for n in range(1, 11):
        if waits:
            early = unlock(at, "guess")  # an instant before its slot: refused, not counted
            assert texts(early.error) == [
                f"Too many wrong passwords: try again in {describe_wait(waits[-1])}. "
                "This try was not checked."
            ], n
            clock.now += waits[-1]
        at = unlock(at, "guess")
        waits.append(reported_wait(at))
    assert waits == [BACKOFF.delay(n) for n in range(1, 11)]
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]  # capped at the maximum
    assert clock.now - started >= BACKOFF.total(10) == sum(waits[:-1]) == 511
    assert texts(at.title) == ["vitrieve"]


def test_the_right_password_is_refused_until_the_wait_is_over(catalog, clock):
    at = new_session()
    for _ in range(2):  # 1 + 2 s of waiting, then a third wrong one: a 4 s lockout
        at = unlock(at, "guess")
        clock.now += reported_wait(at)
    at = unlock(at, "guess")
    assert reported_wait(at) == 4
    clock.now += 3.5
    at = unlock(at, PASSWORD["password"])
    assert texts(at.error) == [
        "Too many wrong passwords: try again in 1 s. This try was not checked."
    ]
    assert texts(at.title) == ["vitrieve"]  # still locked out, right password or not
    clock.now += 0.5
    at = unlock(at, PASSWORD["password"])
    assert texts(at.title) == ["Search by example"]
    assert auth._THROTTLES[BACKOFF].wait(LOCAL) == 0  # a success forgives the client


def test_a_new_session_of_the_same_client_inherits_its_wait(catalog, clock):
    first = new_session()
    for _ in range(4):
        first = unlock(first, "guess")
        clock.now += reported_wait(first)
    first = unlock(first, "guess")
    assert reported_wait(first) == 16
    second = unlock(new_session(), PASSWORD["password"])  # a fresh tab does not start over
    assert texts(second.error) == [
        "Too many wrong passwords: try again in 16 s. This try was not checked."
    ]
    clock.now += 16
    assert texts(unlock(second, PASSWORD["password"]).title) == ["Search by example"]


def test_the_wait_follows_the_settings(catalog, monkeypatch):
    monkeypatch.setenv("VITRIEVE_UI_LOGIN_DELAY", "5")
    monkeypatch.setenv("VITRIEVE_UI_LOGIN_DELAY_MAX", "12")
    fake = Clock()
    backoff = Backoff(5.0, 12.0)
    monkeypatch.setattr(auth, "_THROTTLES", {backoff: LoginThrottle(backoff, clock=fake)})
    at = new_session()
    waits = []
    for _ in range(4):
        at = unlock(at, "guess")
        waits.append(reported_wait(at))
        fake.now += waits[-1]
    assert waits == [5, 10, 12, 12]

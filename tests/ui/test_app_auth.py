"""The gate in front of every page: open by default, a password from secrets, or OIDC."""

from __future__ import annotations

import pytest

from tests.ui.conftest import APP, texts

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


def test_a_wrong_password_is_refused(catalog, open_page):
    at = unlock(open_page(secrets=PASSWORD), "guess")
    assert "Wrong password." in texts(at.error)
    assert texts(at.title) == ["vitrieve"]


def test_the_right_password_opens_the_app_and_lock_closes_it(catalog, open_page):
    at = unlock(open_page(secrets=PASSWORD), PASSWORD["password"])
    assert texts(at.title) == ["Search by example"]
    next(b for b in at.sidebar.button if b.label == "Lock").click().run()
    assert texts(at.title) == ["vitrieve"]


def test_with_oidc_a_visitor_sees_only_the_login_button(catalog, open_page):
    at = open_page(secrets=OIDC, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in"]
    assert texts(at.title) == ["vitrieve"] and not at.file_uploader


def test_with_oidc_a_logged_in_user_gets_the_app(catalog, open_page):
    user = {"is_logged_in": True, "email": "ann@example.com", "name": "Ann"}
    at = open_page(secrets=OIDC, user=user)
    assert texts(at.title) == ["Search by example"]
    assert "Signed in as ann@example.com" in texts(at.sidebar.caption)

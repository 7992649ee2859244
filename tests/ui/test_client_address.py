"""Who the login throttle counts a connection as: the socket's peer, whatever the headers say,
unless a header is configured and the peer is a trusted proxy (then the right-most address in
that header that is not a proxy). The live server's side of this is tests/ui/test_throttle_live.py.
"""

from __future__ import annotations

import pytest

from vitrieve.core.config import InvalidSettingError, Settings
from vitrieve.ui.client_address import ClientAddress, parse_networks

XFF = b"x-forwarded-for"


def headers(*values: str, name: bytes = XFF) -> list[tuple[bytes, bytes]]:
    return [(b"host", b"127.0.0.1:8501"), *((name, v.encode()) for v in values)]


BEHIND_PROXIES = ClientAddress("x-forwarded-for", parse_networks("127.0.0.0/8, ::1, 10.0.0.0/8"))


@pytest.mark.parametrize(
    ("peer", "sent"),
    [
        ("127.0.0.1", headers("203.0.113.9")),  # what uvicorn believed from any local client
        ("198.51.100.4", headers("203.0.113.9")),
        ("127.0.0.1", headers("203.0.113.9", name=b"x-real-ip")),
    ],
)
def test_without_a_configured_header_the_peer_is_the_client(peer, sent):
    assert ClientAddress(None, parse_networks("127.0.0.0/8")).resolve(peer, sent) == peer


@pytest.mark.parametrize(
    ("peer", "sent", "client"),
    [
        # nginx appends the address it saw; whatever the client wrote stays to its left.
        ("127.0.0.1", headers("203.0.113.7"), "203.0.113.7"),
        ("127.0.0.1", headers("198.51.100.2, 203.0.113.7"), "203.0.113.7"),
        ("127.0.0.1", headers("198.51.100.2", "203.0.113.7"), "203.0.113.7"),  # two lines
        # Through a second, inner proxy: skip every trusted hop from the right.
        ("10.0.0.5", headers("198.51.100.2, 203.0.113.7, 10.0.0.2"), "203.0.113.7"),
        ("::1", headers("203.0.113.7:5123"), "203.0.113.7"),
        ("127.0.0.1", headers("[2001:db8::7]:443"), "2001:db8::7"),
        ("::ffff:127.0.0.1", headers("203.0.113.7"), "203.0.113.7"),
        # Only proxies in the header: the left-most sent it; no header: the peer.
        ("127.0.0.1", headers("10.0.0.3, 10.0.0.2"), "10.0.0.3"),
        ("127.0.0.1", headers(), "127.0.0.1"),
        ("127.0.0.1", headers(" , "), "127.0.0.1"),
        # A peer that is not a proxy is believed about nothing.
        ("198.51.100.4", headers("203.0.113.7"), "198.51.100.4"),
        ("11.0.0.1", headers("203.0.113.7"), "11.0.0.1"),
        (None, headers("203.0.113.7"), None),
    ],
)
def test_behind_trusted_proxies_the_right_most_untrusted_address_is_the_client(peer, sent, client):
    assert BEHIND_PROXIES.resolve(peer, sent) == client


def test_the_settings_name_the_header_and_the_proxies(monkeypatch, tmp_path):
    monkeypatch.setenv("VITRIEVE_UI_CLIENT_IP_HEADER", "X-Real-IP")
    monkeypatch.setenv("VITRIEVE_UI_TRUSTED_PROXIES", "192.0.2.1, 10.0.0.0/8")
    found = ClientAddress.from_settings(Settings(home=tmp_path))
    assert found.header == "x-real-ip"
    assert found.resolve("10.9.9.9", headers("203.0.113.7", name=b"X-Real-IP")) == "203.0.113.7"
    assert found.resolve("127.0.0.1", headers("203.0.113.7", name=b"x-real-ip")) == "127.0.0.1"


def test_by_default_only_this_machine_is_a_trusted_proxy(tmp_path):
    default = ClientAddress.from_settings(
        Settings(home=tmp_path, ui_client_ip_header="X-Forwarded-For")
    )
    assert default.trusts("127.0.0.1") and default.trusts("127.5.0.1") and default.trusts("::1")
    assert not default.trusts("10.0.0.1") and not default.trusts("not-an-ip")


def test_a_proxy_list_that_is_not_addresses_is_one_line_naming_the_variable(monkeypatch):
    monkeypatch.setenv("VITRIEVE_UI_TRUSTED_PROXIES", "127.0.0.1, proxy.local")
    with pytest.raises(InvalidSettingError) as err:
        Settings()
    assert str(err.value) == (
        "VITRIEVE_UI_TRUSTED_PROXIES=127.0.0.1, proxy.local: 'proxy.local' is not an IP address "
        "or network (comma-separated, e.g. 127.0.0.1,10.0.0.0/8)"
    )

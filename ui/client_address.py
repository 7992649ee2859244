"""Who is on the other end of a connection, for the login throttle (ui/throttle.py).

The socket's peer address is the only one a client cannot choose. A header such as
X-Forwarded-For is written by whoever sends the request, so it is believed only when the UI sits
behind a reverse proxy that the user named: `VITRIEVE_UI_CLIENT_IP_HEADER` names the header and
`VITRIEVE_UI_TRUSTED_PROXIES` the proxies' addresses (loopback by default). Then, and only for a
connection whose peer is one of those proxies, the client is the right-most address in the
header that is not a trusted proxy: each proxy appends the address it saw, so everything left of
that entry came from the client and may be forged.

uvicorn has its own X-Forwarded-For handling, which trusts any loopback peer by default and
rewrites the connection's address before vitrieve sees it; `vitrieve ui` turns it off
(`UVICORN_TRUSTS_NOBODY`), so this module is the one place the header is read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from vitrieve.core.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# uvicorn reads FORWARDED_ALLOW_IPS when it is started; "" trusts no peer's forwarded headers.
UVICORN_TRUSTS_NOBODY = {"FORWARDED_ALLOW_IPS": ""}


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as the socket or a header writes it, an IPv4-mapped IPv6 address
    (::ffff:127.0.0.1, what a dual-stack socket reports) as the IPv4 one; None if not one."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def parse_networks(text: str) -> tuple[Network, ...]:
    """'127.0.0.0/8, ::1, 10.1.2.3' -> networks (a bare address is a network of one)."""
    return tuple(
        ipaddress.ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip()
    )


def _host(entry: str) -> str:
    """An X-Forwarded-For entry without a port: '[2001:db8::1]:443' -> '2001:db8::1',
    '203.0.113.7:5000' -> '203.0.113.7'; anything else as written."""
    entry = entry.strip()
    if entry.startswith("[") and "]" in entry:
        return entry[1 : entry.index("]")]
    if entry.count(":") == 1:
        return entry.split(":", 1)[0]
    return entry


@dataclass(frozen=True)
class ClientAddress:
    """How to find a connection's client: `header` (lower case) is None to use the peer only."""

    header: str | None = None
    proxies: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientAddress:
        header = (settings.ui_client_ip_header or "").strip().lower() or None
        return cls(header, parse_networks(settings.ui_trusted_proxies))

    def trusts(self, address: str | None) -> bool:
        ip = parse_ip(address) if address else None
        return ip is not None and any(ip in net for net in self.proxies)

    def resolve(self, peer: str | None, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The client's address: `peer` (the socket's), unless a header is configured and the
        peer is a trusted proxy that sent it. `headers` as in an ASGI scope."""
        if self.header is None or not self.trusts(peer):
            return peer
        name = self.header.encode("latin-1")
        entries = [
            host
            for key, value in headers
            if key.lower() == name
            for host in (_host(e) for e in value.decode("latin-1").split(","))
            if host
        ]
        for entry in reversed(entries):
            if not self.trusts(entry):
                return entry
        # Only proxies in the header (or none at all): the left-most one sent it.
        return entries[0] if entries else peer

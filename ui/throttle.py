"""Password tries per client: every wrong one makes that client wait twice as long for the next.

The wait is a lockout, not a sleep: a try that comes before the client's next allowed time is
refused without looking at the password (a right one too), so no server thread ever sleeps and
other clients are never slowed down. Checking and recording happen under one lock, so two tabs
(or two scripted sessions) of one client cannot try in parallel inside one slot.

The ledger lives in the server process, shared by all sessions: it survives reruns and new
sessions of the same client; a server restart forgets it. It is deliberately not kept in
`st.cache_resource`, which any websocket client can clear with a `clear_cache` message.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from vitrieve.ui.client_address import parse_ip

LOCAL = "local"  # the TCP peer is this machine (Streamlit reports no address for loopback)


@dataclass(frozen=True)
class Backoff:
    """The wait after `n` consecutive wrong passwords: first_s, 2*first_s, 4*first_s, ... max_s."""

    first_s: float
    max_s: float

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return min(self.max_s, self.first_s * 2.0 ** min(failures - 1, 64))

    def total(self, failures: int) -> float:
        """The least time `failures` wrong passwords in a row take (each waits for its slot)."""
        return sum(self.delay(n) for n in range(1, failures))


@dataclass(frozen=True)
class Attempt:
    """What became of one try: `checked` is False when the client was still waiting (the
    password was not looked at); `wait_s` is how long the client must wait now."""

    ok: bool
    checked: bool
    wait_s: float


@dataclass
class _Ledger:
    failures: int
    last_failure: float  # on the throttle's clock


class LoginThrottle:
    """Consecutive failures per client key and when that client may try again."""

    def __init__(
        self,
        backoff: Backoff,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
        forget_after_s: float = 24 * 3600,
    ) -> None:
        self.backoff = backoff
        self.clock = clock
        self._max_clients = max_clients
        # A client idle this long starts over; never shorter than the longest wait.
        self._forget_after_s = max(forget_after_s, backoff.max_s)
        self._clients: OrderedDict[str, _Ledger] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds until `client` may try again (0: now)."""
        with self._lock:
            return self._wait(client, self.clock())

    def attempt(self, client: str, check: Callable[[], bool]) -> Attempt:
        """Runs `check` (the password comparison) unless `client` must still wait."""
        with self._lock:
            now = self.clock()
            waiting = self._wait(client, now)
            if waiting > 0:
                return Attempt(ok=False, checked=False, wait_s=waiting)
            if check():
                self._clients.pop(client, None)
                return Attempt(ok=True, checked=True, wait_s=0.0)
            ledger = self._clients.pop(client, None) or _Ledger(0, now)
            ledger.failures += 1
            ledger.last_failure = now
            self._clients[client] = ledger  # most recent last: eviction takes the oldest
            while len(self._clients) > self._max_clients:
                self._clients.popitem(last=False)
            return Attempt(ok=False, checked=True, wait_s=self.backoff.delay(ledger.failures))

    def _wait(self, client: str, now: float) -> float:
        ledger = self._clients.get(client)
        if ledger is None:
            return 0.0
        if now - ledger.last_failure > self._forget_after_s:
            del self._clients[client]
            return 0.0
        return max(0.0, ledger.last_failure + self.backoff.delay(ledger.failures) - now)


def client_key(address: str | None) -> str:
    """Who is trying, from the client's address (ui/client_address.py decides what that is:
    the socket's peer, or behind a configured proxy the address it reports). IPv6 addresses
    count per /64, the block one host gets; every loopback address is this machine."""
    if not isinstance(address, str) or not address:  # no client context (tests, bare mode)
        return LOCAL
    ip = parse_ip(address)
    if ip is None:
        return address[:64]
    if ip.is_loopback:
        return LOCAL
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def describe_wait(seconds: float) -> str:
    whole = max(1, int(-(-seconds // 1)))  # round up: "in 0 s" would invite a refused try
    if whole < 120:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"

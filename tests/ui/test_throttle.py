"""The password-try ledger on its own: who counts as one client, and what each one may do."""

from __future__ import annotations

import threading

import pytest

from vitrieve.ui.throttle import LOCAL, Backoff, LoginThrottle, client_key, describe_wait


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def wrong() -> bool:
    return False


def right() -> bool:
    return True


def _at_once(n: int, attempt) -> list:
    """Runs attempt in n threads released together by a barrier; returns what each got."""
    results = []
    barrier = threading.Barrier(n)

    def submit() -> None:
        barrier.wait()
        results.append(attempt())

    threads = [threading.Thread(target=submit) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(clock) -> LoginThrottle:
    return LoginThrottle(Backoff(1.0, 60.0), clock=clock)


def test_the_schedule_doubles_from_the_first_wait_up_to_the_cap():
    backoff = Backoff(0.5, 10.0)
    assert [backoff.delay(n) for n in range(0, 8)] == [0, 0.5, 1, 2, 4, 8, 10, 10]
    assert backoff.total(5) == 0.5 + 1 + 2 + 4
    assert Backoff(1.0, 300.0).delay(10_000) == 300.0  # no overflow on absurd counts


def test_one_clients_failures_never_delay_another(throttle, clock):
    for _ in range(5):
        throttle.attempt("203.0.113.7", wrong)
        clock.now += throttle.wait("203.0.113.7")
    throttle.attempt("203.0.113.7", wrong)
    assert throttle.wait("203.0.113.7") == 32
    other = throttle.attempt("198.51.100.2", right)
    assert (other.ok, other.checked, other.wait_s) == (True, True, 0)
    refused = throttle.attempt("203.0.113.7", right)
    assert (refused.ok, refused.checked, refused.wait_s) == (False, False, 32)


def test_a_success_forgives_and_a_long_silence_forgets(clock):
    throttle = LoginThrottle(Backoff(1.0, 60.0), clock=clock, forget_after_s=3600)
    throttle.attempt("a", wrong)
    clock.now += 1
    throttle.attempt("a", wrong)
    assert throttle.wait("a") == 2
    clock.now += 2
    assert throttle.attempt("a", right).ok and throttle.wait("a") == 0
    throttle.attempt("b", wrong)
    clock.now += 3601
    assert throttle.attempt("b", wrong).wait_s == 1  # starts over at the first wait


def test_the_ledger_stays_bounded_however_many_addresses_try(clock):
    throttle = LoginThrottle(Backoff(1.0, 60.0), clock=clock, max_clients=100)
    for i in range(1000):
        throttle.attempt(f"10.0.{i // 256}.{i % 256}", wrong)
    assert len(throttle._clients) == 100
    assert throttle.wait("10.0.3.231") == 1  # the most recent are kept
    assert throttle.wait("10.0.0.0") == 0


def test_tries_sent_at_the_same_instant_get_one_check(throttle):
    """Sessions are threads of one server process: 16 tabs of one client submitting at once
    get one password comparison between them; the other 15 are refused unchecked."""
    throttle.attempt("c", wrong)  # now waiting 1 s, frozen clock: nobody may try ...
    results = _at_once(16, lambda: throttle.attempt("c", right))
    assert [r.checked for r in results] == [False] * 16

    throttle.clock.now += 1  # ... until the slot opens: exactly one gets it
    compared = []

    def wrong_and_counted() -> bool:
        compared.append(1)
        return False

    results = _at_once(16, lambda: throttle.attempt("c", wrong_and_counted))
    assert len(compared) == 1
    assert sorted(r.checked for r in results) == [False] * 15 + [True]


@pytest.mark.parametrize(
    ("address", "key"),
    [
        (None, LOCAL),  # Streamlit reports loopback as no address
        ("127.0.0.1", LOCAL),
        ("127.0.0.2", LOCAL),
        ("::1", LOCAL),
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # same host block
        ("not-an-ip" * 20, ("not-an-ip" * 20)[:64]),
    ],
)
def test_client_key(address, key):
    """Which address that is (peer or proxy's report) is ui/client_address.py's business."""
    assert client_key(address) == key


def test_waits_are_shown_rounded_up():
    assert [describe_wait(s) for s in (0.2, 1, 1.01, 119, 120, 300, 301)] == [
        "1 s",
        "1 s",
        "2 s",
        "119 s",
        "2 min",
        "5 min",
        "5 min 1 s",
    ]

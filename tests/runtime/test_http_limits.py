"""The pieces of the failure budget: which addresses are this machine, and what is counted."""

import pytest

from runtime.http_limits import is_loopback
from runtime.rate_limit import RateLimiter


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.1.2.3", False),
        ("::ffff:10.1.2.3", False),
        ("2001:db8::1", False),
        ("unknown", False),
        ("localhost", False),  # a name is not an address: the server always gives one
    ],
)
def test_loopback_addresses(address: str, local: bool) -> None:
    assert is_loopback(address) is local


def test_asking_is_free_and_only_a_refusal_is_counted() -> None:
    limiter = RateLimiter(rate=0.001, burst=2)
    limiter.spend("a", 2)
    assert not limiter.allowed("a") and not limiter.allowed("a")
    assert limiter.refused == 0  # a source let through after all (a vouched caller) is no refusal
    assert limiter.refuse("a") >= 1 and limiter.refused == 1
    assert limiter.take("b") and limiter.take("b") and not limiter.take("b")
    assert limiter.refused == 2

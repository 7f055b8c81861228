"""Per-source token buckets: how much failing or unauthenticated traffic one source may cause.

A source (an HTTP client's address, an MQTT topic's edge) spends a token for each request or
message that costs the service without doing anything useful for it; an empty bucket refills
at ``rate`` per second up to ``burst``. Sources are held in a bounded table (least recently
seen forgotten first), so a flood from many made-up sources cannot grow memory either. In
memory, per process: each central replica limits what reaches it.
"""

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets keyed by source, with a count of what was refused."""

    def __init__(
        self,
        *,
        rate: float,
        burst: float,
        max_sources: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1 or max_sources < 1:
            raise ValueError("a rate limit needs rate > 0, burst >= 1 and max_sources >= 1")
        self.rate = rate
        self.burst = burst
        self.max_sources = max_sources
        self.clock = clock
        self.refused = 0  # everything turned away since start
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, source: str) -> _Bucket:
        """The source's bucket, refilled to now (a new source starts full)."""
        now = self.clock()
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = self._buckets[source] = _Bucket(self.burst, now)
            if len(self._buckets) > self.max_sources:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(source)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        return bucket

    def allowed(self, source: str) -> bool:
        """True while ``source`` still has a token (none is spent)."""
        return self._bucket(source).tokens >= 1

    def refuse(self, source: str) -> int:
        """Count a refusal of ``source``; answers whole seconds until it has a token again."""
        self.refused += 1
        return self.retry_after(source)

    def spend(self, source: str, cost: float = 1.0) -> None:
        """Charge ``source`` for something that failed (may go below zero: a debt to repay)."""
        bucket = self._bucket(source)
        bucket.tokens = max(bucket.tokens - cost, -self.burst)

    def take(self, source: str) -> bool:
        """Spend a token if there is one: True when the source may go on."""
        if not self.allowed(source):
            self.refused += 1
            return False
        self.spend(source)
        return True

    def retry_after(self, source: str) -> int:
        """Whole seconds until ``source`` has a token again (at least 1)."""
        missing = 1 - self._bucket(source).tokens
        return max(1, int(missing / self.rate + 0.999))

    def __len__(self) -> int:
        return len(self._buckets)

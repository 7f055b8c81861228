"""A tiny in-process event bus for kiosks and tools: notifications, never data of record.

A slow subscriber loses its oldest events rather than slowing the publisher down: anything
that matters (an action's state) can always be read again from the queue.
"""

import asyncio
import itertools
import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from protocol import format_ts

EVENT_KINDS = ("scan", "feedback", "action", "connectivity", "warning", "scanner")


class EventSink(Protocol):
    """Anything events can be handed to: the EventBus, or a test's recorder."""

    def publish(self, kind: str, data: dict[str, Any]) -> object:
        """Hand over one event; must not block."""
        ...


@dataclass(frozen=True)
class Event:
    """One notification: a kind, its data, a per-process increasing id and the edge time."""

    id: int
    kind: str
    data: dict[str, Any]
    ts: str = field(default_factory=lambda: format_ts(datetime.now(UTC)))

    def sse(self) -> str:
        """The event as one server-sent-events frame."""
        payload = json.dumps({"ts": self.ts, **self.data}, ensure_ascii=False, default=str)
        return f"id: {self.id}\nevent: {self.kind}\ndata: {payload}\n\n"


class Subscription:
    """One subscriber's bounded buffer; iterate it with ``async for``."""

    def __init__(self, bus: "EventBus", maxsize: int) -> None:
        self._bus = bus
        self._buffer: deque[Event] = deque(maxlen=maxsize)  # maxlen drops the oldest
        self._ready = asyncio.Event()
        self.dropped = 0

    def _push(self, event: Event) -> None:
        if len(self._buffer) == self._buffer.maxlen:
            self.dropped += 1
        self._buffer.append(event)
        self._ready.set()

    async def get(self) -> Event:
        """The next event, waiting for one if needed."""
        while not self._buffer:
            self._ready.clear()
            await self._ready.wait()
        return self._buffer.popleft()

    def drain(self) -> list[Event]:
        """Every event already waiting, without waiting for more."""
        events = list(self._buffer)
        self._buffer.clear()
        return events

    def close(self) -> None:
        """Stop receiving events."""
        self._bus._unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.get()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventBus:
    """Fan-out of edge events to any number of subscribers (call it from the event loop)."""

    def __init__(self, *, buffer_size: int = 256) -> None:
        self.buffer_size = buffer_size
        self._subscribers: set[Subscription] = set()
        self._ids = itertools.count(1)

    def publish(self, kind: str, data: dict[str, Any]) -> Event:
        """Hand an event to every subscriber; never blocks."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")
        event = Event(id=next(self._ids), kind=kind, data=dict(data))
        for subscriber in list(self._subscribers):
            subscriber._push(event)
        return event

    def subscribe(self) -> Subscription:
        """A new subscription; use ``async with bus.subscribe() as events: async for ...``."""
        subscription = Subscription(self, self.buffer_size)
        self._subscribers.add(subscription)
        return subscription

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers)

    def _unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

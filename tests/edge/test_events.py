"""The event bus: fan-out to subscribers, bounded buffers that drop the oldest."""

import asyncio

import pytest

from edge.events import EventBus


async def test_every_subscriber_gets_every_event() -> None:
    bus = EventBus()
    async with bus.subscribe() as a, bus.subscribe() as b:
        bus.publish("scan", {"n": 1})
        bus.publish("action", {"n": 2})
        for sub in (a, b):
            assert [(e.kind, e.data["n"]) for e in (await sub.get(), await sub.get())] == [
                ("scan", 1),
                ("action", 2),
            ]
    assert bus.subscriber_count == 0


async def test_slow_subscriber_loses_the_oldest() -> None:
    bus = EventBus(buffer_size=3)
    async with bus.subscribe() as sub:
        for n in range(5):
            bus.publish("scan", {"n": n})
        assert [(await sub.get()).data["n"] for _ in range(3)] == [2, 3, 4]
        assert sub.dropped == 2


async def test_async_iteration_waits_for_events() -> None:
    bus = EventBus()
    async with bus.subscribe() as sub:

        async def first() -> str:
            async for event in sub:
                return event.kind
            return ""

        task = asyncio.create_task(first())
        await asyncio.sleep(0)
        bus.publish("connectivity", {"broker_connected": True})
        assert await task == "connectivity"


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        EventBus().publish("gossip", {})


def test_sse_frame() -> None:
    event = EventBus().publish("warning", {"code": "BACKLOG_OLD"})
    frame = event.sse()
    assert frame.startswith("id: 1\nevent: warning\ndata: {") and frame.endswith("}\n\n")
    assert '"code": "BACKLOG_OLD"' in frame

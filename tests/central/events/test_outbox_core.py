"""The outbox's spine: events commit with their transaction, get gapless ids after commit, wake
readers on commit only, and each consumer sees each event once across relays."""

import asyncio
from collections.abc import Collection

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.engine import make_engine
from central.db.tables import outbox_events
from central.events.consumers import LeaseLost, claim, consume
from central.events.outbox import DomainEvent, write_events
from central.events.reading import StoredEvent, events_after
from central.events.relay import EventRelay
from central.events.sequencer import sequence_all
from central.events.signal import commit_pulse
from central.events.types import EventType
from central.settings import CentralSettings


def moved(number: str) -> DomainEvent:
    return DomainEvent(EventType.LP_MOVED, "plant-1", number, {"to": "A-01"})


class Recorder:
    """A consumer that keeps what it was handed, in a list per relay."""

    name = "test-recorder"
    types: Collection[str] | None = None
    sites: Collection[str] | None = None

    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, conn: AsyncConnection, events: list[StoredEvent]) -> None:
        self.seen.extend(e.id for e in events)


async def test_events_commit_with_their_transaction_and_are_numbered_after(
    migrated_database_url: str,
) -> None:
    engine = make_engine(migrated_database_url)
    try:
        pulse = commit_pulse(engine)
        before = pulse.generation
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await write_events(conn, [moved("LP-X")])
                raise RuntimeError("the change failed")
        assert pulse.generation == before  # a rollback wakes nobody
        async with engine.begin() as conn:
            assert await conn.scalar(select(func.count()).select_from(outbox_events)) == 0
            await write_events(conn, [moved("LP-1"), moved("LP-2")])
        assert pulse.generation == before + 1  # the commit woke the readers
        async with engine.begin() as conn:
            await write_events(conn, [moved("LP-3")])
        # two writes, two outbox rows; SQLite numbered them at the insert
        numbered_after_commit = 2 if engine.dialect.name == "postgresql" else 0
        assert await sequence_all(engine) == numbered_after_commit
        async with engine.connect() as conn:
            events = await events_after(conn, 0)
        assert [(e.id, e.subject) for e in events] == [(1, "LP-1"), (2, "LP-2"), (3, "LP-3")]
        assert await sequence_all(engine) == 0
    finally:
        await engine.dispose()


async def test_outbox_off_writes_nothing(migrated_database_url: str) -> None:
    engine = make_engine(migrated_database_url, outbox=False)
    try:
        async with engine.begin() as conn:
            assert await write_events(conn, [moved("LP-1")]) == 0
            assert await conn.scalar(select(func.count()).select_from(outbox_events)) == 0
    finally:
        await engine.dispose()


async def test_a_consumer_sees_each_event_once_across_relays(migrated_database_url: str) -> None:
    engine = make_engine(migrated_database_url)
    settings = CentralSettings(db_url=migrated_database_url, relay_lease_seconds=60)
    try:
        first, second = Recorder(), Recorder()
        a = EventRelay(engine, settings, [first], owner="relay-a")
        b = EventRelay(engine, settings, [second], owner="relay-b")
        await a.pass_once()  # takes the lease, starting at the newest event (none yet)
        async with engine.begin() as conn:
            await write_events(conn, [moved(f"LP-{i}") for i in range(5)])
        await b.pass_once()  # a holds the lease: b hands nothing over
        await a.pass_once()
        assert first.seen == [1, 2, 3, 4, 5] and second.seen == []
        # a crashes holding its lease; once it expires b takes over where a stopped
        async with engine.begin() as conn:
            await write_events(conn, [moved("LP-9")])
        expired = CentralSettings(db_url=migrated_database_url, relay_lease_seconds=0.001)
        await sequence_all(engine)
        claimed = await claim(engine, Recorder.name, "relay-a", 0.001)
        assert claimed is not None
        await asyncio.sleep(0.01)
        c = EventRelay(engine, expired, [second], owner="relay-b")
        await c.pass_once()
        assert second.seen == [6]
        # a comes back with its stale lease: its step is refused, nothing moves twice
        with pytest.raises(LeaseLost):
            await consume(engine, Recorder(), claimed, "relay-a", 60)
    finally:
        await engine.dispose()

"""The relay under real conditions: two relays on one database while writers commit from
both, a relay process killed while it holds a lease, writers committing out of row order,
and what an idle central costs the database."""

import asyncio
import random
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from central.clock import now
from central.db.engine import make_engine
from central.db.tables import event_consumers, outbox_events
from central.events.outbox import DomainEvent, write_events
from central.events.reading import events_after
from central.events.relay import EventRelay
from central.events.sequencer import sequence_all, sequence_pending
from central.events.signal import Pulse, listen
from central.events.types import EventType
from central.settings import CentralSettings
from harness import Proc
from tests.central.events.seen import (
    SeenConsumer,
    create_seen_table,
    drop_seen_table,
    seen,
    seen_count,
)


def moved(subject: str) -> DomainEvent:
    return DomainEvent(EventType.LP_MOVED, "plant-1", subject, {"to": "A-01"})


@pytest.fixture
async def engines(migrated_database_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines on one database, as two central replicas have; the seen table made."""
    first, second = make_engine(migrated_database_url), make_engine(migrated_database_url)
    await create_seen_table(first)
    yield first, second
    await drop_seen_table(first)
    await first.dispose()
    await second.dispose()


async def writer(engine: AsyncEngine, name: str, count: int) -> None:
    """Commit ``count`` events, one or two per transaction, at an uneven pace."""
    rng = random.Random(name)
    done = 0
    while done < count:
        size = min(rng.choice((1, 2)), count - done)
        async with engine.begin() as conn:
            await write_events(conn, [moved(f"{name}-{done + i}") for i in range(size)])
        done += size
        await asyncio.sleep(rng.random() * 0.01)


async def test_two_relays_feed_a_consumer_each_event_once_while_both_replicas_write(
    migrated_database_url: str, engines: tuple[AsyncEngine, AsyncEngine]
) -> None:
    settings = CentralSettings(
        db_url=migrated_database_url, relay_poll_seconds=0.2, relay_lease_seconds=0.5
    )
    relays = [
        EventRelay(engine, settings, [SeenConsumer(owner)], owner=owner)
        for engine, owner in zip(engines, ("relay-a", "relay-b"), strict=True)
    ]
    await relays[0].pass_once()  # the consumer starts at the newest event (none yet)
    running = [asyncio.create_task(relay.run()) for relay in relays]
    try:
        per_writer = 60
        await asyncio.gather(*(writer(e, f"w{i}", per_writer) for i, e in enumerate(engines * 2)))
        total = 4 * per_writer
        for _ in range(300):
            if await seen_count(engines[0]) >= total:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a repeat would come now
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    rows = await seen(engines[0])
    assert [event_id for event_id, _ in rows] == list(range(1, total + 1))  # no gap, no repeat


async def test_a_killed_relay_holds_its_lease_until_it_expires_then_another_takes_over(
    migrated_database_url: str, engines: tuple[AsyncEngine, AsyncEngine], tmp_path: Path
) -> None:
    engine, _ = engines
    lease = 4.0
    command = [sys.executable, "-m", "tests.central.events.seen", migrated_database_url]
    killed = Proc([*command, "relay-killed", "--lease", str(lease)], tmp_path / "relay.log")
    try:
        for _ in range(400):  # it claimed the consumer (which starts at the newest event)
            async with engine.connect() as conn:
                if await conn.scalar(select(event_consumers.c.lease_owner)) == "relay-killed":
                    break
            await asyncio.sleep(0.05)
        async with engine.begin() as conn:
            await write_events(conn, [moved(f"LP-{i}") for i in range(20)])
        for _ in range(400):  # it took the lease and handed everything over
            if await seen_count(engine) == 20:
                break
            await asyncio.sleep(0.05)
        assert await seen_count(engine) == 20, killed.output()
    finally:
        killed.kill()  # SIGKILL: its lease stays in the table
        killed.stop()
    async with engine.begin() as conn:
        await write_events(conn, [moved(f"LP-{i}") for i in range(20, 30)])
    settings = CentralSettings(db_url=migrated_database_url, relay_lease_seconds=lease)
    survivor = EventRelay(engine, settings, [SeenConsumer("relay-b")], owner="relay-b")
    async with engine.connect() as conn:
        row = (await conn.execute(select(event_consumers))).one()
    assert row.lease_owner == "relay-killed"
    if now() < row.lease_until:  # the lease has not run out: the survivor must wait
        handed = await survivor.pass_once()
        still = now() < row.lease_until
        if still:
            assert handed == 0
    while now() < row.lease_until:
        await asyncio.sleep(0.1)
    assert await survivor.pass_once() == 10
    rows = await seen(engine)
    assert [event_id for event_id, _ in rows] == list(range(1, 31))
    assert {relay for event_id, relay in rows if event_id > 20} == {"relay-b"}


async def test_readers_never_skip_an_event_whose_transaction_commits_late(
    migrated_database_url: str, database_tier: str
) -> None:
    if database_tier == "sqlite":
        pytest.skip("SQLite writers take the write lock at BEGIN: commits follow row order")
    engine = make_engine(migrated_database_url)
    try:
        slow = await engine.connect()
        slow_tx = await slow.begin()
        await write_events(slow, [moved("SLOW")])  # the lower row id, not committed yet
        slow_row = await slow.scalar(select(func.max(outbox_events.c.row_id)))
        async with engine.begin() as conn:
            await write_events(conn, [moved("FAST")])  # a higher row id, committed first
        await sequence_all(engine)
        async with engine.connect() as conn:
            first = await events_after(conn, 0)
            rows = (await conn.execute(select(outbox_events.c.row_id))).scalars().all()
        assert [e.subject for e in first] == ["FAST"]
        # A reader following row ids would now stand at FAST's row, past SLOW's for good
        assert len(rows) == 1
        row_follower_position = rows[0]
        await slow_tx.commit()
        await slow.close()
        await sequence_all(engine)
        async with engine.connect() as conn:
            later = await events_after(conn, first[-1].id)
        assert slow_row < row_follower_position  # ... and would never read it
        assert [(e.id, e.subject) for e in later] == [(2, "SLOW")]
    finally:
        await engine.dispose()


async def test_many_writers_committing_out_of_order_reach_a_reader_whole_and_in_order(
    migrated_database_url: str, engines: tuple[AsyncEngine, AsyncEngine]
) -> None:
    first, second = engines
    read: list[int] = []
    done = asyncio.Event()

    async def slow_writer(engine: AsyncEngine, name: str) -> None:
        rng = random.Random(name)
        for i in range(15):
            async with engine.begin() as conn:
                await write_events(conn, [moved(f"{name}-{i}")])
                await asyncio.sleep(rng.random() * 0.02)  # hold the transaction open a while

    async def sequencer() -> None:
        while not done.is_set():
            await sequence_pending(second)
            await asyncio.sleep(0.005)
        await sequence_all(second)

    async def reader() -> None:
        while True:
            async with first.connect() as conn:
                batch = await events_after(conn, read[-1] if read else 0)
            read.extend(e.id for e in batch)
            if done.is_set() and not batch and not await sequence_pending(second):
                return
            await asyncio.sleep(0.005)

    tasks = [asyncio.create_task(sequencer()), asyncio.create_task(reader())]
    await asyncio.gather(*(slow_writer(e, f"w{i}") for i, e in enumerate((first, second) * 3)))
    done.set()
    await asyncio.gather(*tasks)
    async with first.connect() as conn:
        rest = await events_after(conn, read[-1] if read else 0)
    read.extend(e.id for e in rest)
    assert read == list(range(1, 6 * 15 + 1))


# Statements (BEGINs included) of an idle relay pass with one consumer: the unnumbered check,
# the lease renewed, the newest id and the events after the position; of an idle SSE poll:
# the unnumbered check and the read of new events.
RELAY_PASS = 7
SSE_POLL = 4


async def test_an_idle_central_does_not_poll_busily(migrated_database_url: str) -> None:
    """An idle relay and an idle SSE stream together cost a handful of statements per slow
    poll, not a loop of queries."""
    import httpx

    from tests.central.events.sse_client import served, stream

    poll = 0.5
    settings = CentralSettings(
        db_url=migrated_database_url,
        relay_poll_seconds=poll,
        sse_poll_seconds=poll,
        sse_keepalive_seconds=0.25,
    )
    engine = make_engine(migrated_database_url)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    relay = EventRelay(engine, settings, [SeenConsumer("relay-a")], owner="relay-a")
    try:
        await create_seen_table(engine)
        async with served(settings, engine) as api:
            async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
                async with stream(client, "/api/v1/events") as reader:
                    running = asyncio.create_task(relay.run())
                    await asyncio.sleep(1.0)  # started, first passes and prune done
                    event.listen(engine.sync_engine, "before_cursor_execute", count)
                    window = 3.0
                    await asyncio.sleep(window)
                    event.remove(engine.sync_engine, "before_cursor_execute", count)
                    alive = await reader.next()  # the stream was alive all along
                    assert alive.comment == "keep-alive"
                    running.cancel()
                    await asyncio.gather(running, return_exceptions=True)
    finally:
        await drop_seen_table(engine)
        await engine.dispose()
    polls = window / poll + 1
    assert len(statements) <= polls * (RELAY_PASS + SSE_POLL), statements
    assert statements, "the slow poll must still look"


async def test_every_commit_of_another_replica_wakes_a_listener(
    migrated_database_url: str, database_tier: str
) -> None:
    """A writer whose engine never made a pulse (another replica's API, a tool) still sends
    ``NOTIFY`` at each commit, not only at the first on each pooled connection."""
    if database_tier == "sqlite":
        pytest.skip("SQLite has no wake across processes (the slow poll reads their commits)")
    pulse = Pulse()
    listener = asyncio.create_task(listen(migrated_database_url, pulse))
    writer = make_engine(migrated_database_url, pool_size=1)
    try:
        for _ in range(100):  # listening (it fires once when it starts)
            if pulse.generation:
                break
            await asyncio.sleep(0.02)
        for n in range(1, 4):
            seen = pulse.generation
            async with writer.begin() as conn:
                await write_events(conn, [moved(f"LP-{n}")])
            assert await pulse.wait(5.0, seen=seen), f"commit {n} woke nobody"
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await writer.dispose()

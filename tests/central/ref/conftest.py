"""Central publishing reference data over a broker of the test's own: ingest (its one MQTT
connection), the relay with the reference publisher, and the snapshot answerer, all on the
seeded central's database; plus a watcher that reads and checks what the edges would get."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from central.clock import now
from central.db.tables import event_consumers
from central.event_relay import build_relay
from central.events.outbox import DomainEvent, write_events
from central.events.relay import EventRelay
from central.identity import state_signing_seed
from central.ingest import IngestWorker
from central.ref.link import BrokerLink
from central.ref.publisher import CONSUMER
from central.ref.snapshots import SnapshotAnswerer
from protocol import central_public_key, format_ts
from protocol.ref import (
    RefDelta,
    RefHead,
    RefSnapshotPage,
    RefSnapshotRequest,
    read_ref,
    sign_request,
)
from protocol.topics import ref_request_topic, ref_snapshot_topic
from runtime.mqtt import Message, MqttConnection
from tests.central.conftest import EDGE, SITE, Central

PAGE_SIZE = 2  # small, so a snapshot of the seed takes several pages


@dataclass
class RefStack:
    """The running pieces and the key edges verify with."""

    central: Central
    url: str
    link: BrokerLink
    relay: EventRelay
    snapshots: SnapshotAnswerer
    seed: bytes
    public_key: bytes

    async def emit(self, *events: DomainEvent) -> None:
        """Commit events in a transaction of their own (what the domain does with its change)."""
        async with self.central.engine.begin() as conn:
            await write_events(conn, list(events))

    async def watcher(self, *filters: str) -> MqttConnection:
        """A client of the broker subscribed to ``filters``."""
        conn = await MqttConnection.open(self.url, timeout=5)
        await conn.subscribe(*filters)
        return conn

    async def settled(self, event_id: int, timeout: float = 5.0) -> None:
        """Wait until the publisher's step that published ``event_id`` has committed (its
        deltas go out just before the commit that moves the heads)."""
        query = select(event_consumers.c.position).where(event_consumers.c.name == CONSUMER)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self.central.engine.connect() as conn:
                if (await conn.scalar(query) or 0) >= event_id:
                    return
            if loop.time() > deadline:
                raise AssertionError(f"the step of event {event_id} did not commit")
            await asyncio.sleep(0.02)

    def delta(self, message: Message) -> RefDelta:
        """A delta, checked against central's key."""
        return read_ref(message.payload, self.public_key, RefDelta)

    def head(self, message: Message) -> RefHead:
        """A head, checked against central's key."""
        return read_ref(message.payload, self.public_key, RefHead)

    def page(self, message: Message) -> RefSnapshotPage:
        """A snapshot page, checked against central's key."""
        return read_ref(message.payload, self.public_key, RefSnapshotPage)


async def next_message(conn: MqttConnection, topic: str, timeout: float = 5.0) -> Message:
    """The next message on ``topic`` (others are skipped)."""

    async def read() -> Message:
        async for message in conn.messages():
            if message.topic == topic:
                return message
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(read(), timeout)


async def messages_until(conn: MqttConnection, done: Any, timeout: float = 5.0) -> list[Message]:
    """Messages until ``done(message)`` is true for one (it included)."""
    seen: list[Message] = []

    async def read() -> None:
        async for message in conn.messages():
            seen.append(message)
            if done(message):
                return

    await asyncio.wait_for(read(), timeout)
    return seen


SNAPSHOT = ref_snapshot_topic(SITE, EDGE)
REQUEST = ref_request_topic(SITE, EDGE)


def request(secret: str, *, edge: str = EDGE, kinds: list[Any] | None = None) -> tuple[str, bytes]:
    """A snapshot request's id and its signed payload."""
    ask = RefSnapshotRequest(
        id=uuid.uuid4().hex, site=SITE, edge=edge, kinds=kinds or [], ts=format_ts(now())
    )
    return ask.id, sign_request(ask, secret)


async def pages_of(stack: RefStack, conn: MqttConnection, request_id: str) -> list[RefSnapshotPage]:
    """Every page of one request, checked against central's key, in arrival order."""
    pages: list[RefSnapshotPage] = []

    def last(message: Message) -> bool:
        page = stack.page(message)
        assert page.request == request_id, "a page of another request arrived first"
        pages.append(page)
        return len(pages) == page.pages

    await messages_until(conn, last)
    return pages


@contextlib.asynccontextmanager
async def running(central: Central, url: str, **settings: Any) -> AsyncIterator[RefStack]:
    """Ingest, relay and answerer as central runs them (central/server.py), until the end."""
    config = central.settings.model_copy(
        update={"ref_page_size": PAGE_SIZE, "relay_poll_seconds": 0.5, **settings}
    )
    seed = state_signing_seed(config)
    link = BrokerLink()
    snapshots = SnapshotAnswerer(
        central.engine, config, box=central.processor.edge_box, seed=seed, link=link
    )
    worker = IngestWorker(
        central.processor, mqtt_url=url, link=link, snapshots=snapshots, state_seed=seed
    )
    relay = build_relay(central.engine, config, link=link)
    stack = RefStack(central, url, link, relay, snapshots, seed, central_public_key(seed))
    await relay.pass_once()  # the publisher's first claim: it starts after the newest event
    tasks = [  # stopped in this order: the relay first, ingest (the connection) last
        asyncio.create_task(relay.run(), name="test-relay"),
        asyncio.create_task(snapshots.run(), name="test-snapshots"),
        asyncio.create_task(worker.run(), name="test-ingest"),
    ]
    try:
        await link.connection(10)
        yield stack
    finally:
        for task in tasks:
            task.cancel()
        _, running_on = await asyncio.wait(tasks, timeout=15)
        assert not running_on, f"did not stop: {[t.get_name() for t in running_on]}"


@pytest.fixture
async def ref_stack(seeded: Central, own_broker: str) -> AsyncIterator[RefStack]:
    """The seeded central publishing reference data on a broker of the test's own."""
    async with running(seeded, own_broker) as stack:
        yield stack

"""`ioe central run` publishes reference data and answers snapshot requests, as wired in the
server: a change written with its event reaches the site's topic as a delta the provisioned
edge's key (``central_key`` in its edge.toml) verifies, and a request signed with the edge's
secret is answered with pages holding what the API shows; a real edge agent fills its cache
from a snapshot and follows central's deltas."""

import asyncio
import tomllib
import uuid
from typing import Any

from central.clock import now
from central.db.engine import make_engine
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType
from harness import wait_until
from protocol import format_ts
from protocol.ref import RefDelta, RefSnapshotPage, RefSnapshotRequest, read_ref, sign_request
from protocol.topics import ref_filter, ref_request_topic, ref_snapshot_topic, ref_topic
from runtime.mqtt import Message, MqttConnection
from tests.e2e.stack import SITE, KillableBroker, Stack

EDGE = "edge-1"


async def next_on(conn: MqttConnection, topic: str, timeout: float) -> Message:
    async def read() -> Message:
        async for message in conn.messages():
            if message.topic == topic:
                return message
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(read(), timeout)


async def test_central_publishes_deltas_and_answers_snapshots(
    stack: Stack, broker: KillableBroker
) -> None:
    broker.start()
    stack.start_central()
    stack.seed()
    config = tomllib.loads(stack.provision_edge(EDGE).read_text())
    secret, key = config["secret"], bytes.fromhex(config["central_key"])
    async with await MqttConnection.open(broker.url, timeout=10) as watcher:
        await watcher.subscribe(ref_filter(SITE), ref_snapshot_topic(SITE, EDGE))
        engine = make_engine(stack.db_url)
        try:
            async with engine.begin() as conn:
                await write_events(conn, [DomainEvent(EventType.PRODUCT_CHANGED, SITE, "RAW-1")])
        finally:
            await engine.dispose()
        # Another process committed it: on SQLite central's relay finds it at its next poll.
        delta = read_ref(
            (await next_on(watcher, ref_topic(SITE, "product"), 30)).payload, key, RefDelta
        )
        assert [(i.key, (i.data or {}).get("name")) for i in delta.items] == [
            ("RAW-1", "Raw material")
        ]

        ask = RefSnapshotRequest(id=uuid.uuid4().hex, site=SITE, edge=EDGE, ts=format_ts(now()))
        await watcher.publish(ref_request_topic(SITE, EDGE), sign_request(ask, secret))
        pages: list[RefSnapshotPage] = []
        while not pages or len(pages) < pages[0].pages:
            message = await next_on(watcher, ref_snapshot_topic(SITE, EDGE), 30)
            pages.append(read_ref(message.payload, key, RefSnapshotPage))
    keys = {
        kind: sorted(i.key for p in pages if p.kind == kind for i in p.items)
        for kind in ("product", "location")
    }
    products = sorted(
        p["code"] for p in stack.api("GET", "/products", params={"site": SITE})["items"]
    )
    assert keys == {"product": products, "location": ["A-01", "A-02", "RECV"]}
    assert {p.request for p in pages} == {ask.id}


def edge_lookup(stack: Stack, path: str) -> dict[str, Any] | None:
    """The edge's answer for a lookup, or None while it has no such record."""
    answer = stack.http.get(f"{stack.edge_url(EDGE)}/api/v1/lookup/{path}")
    return answer.json() if answer.status_code == 200 else None


async def test_an_edge_agent_fills_its_cache_from_central_and_follows_its_changes(
    stack: Stack, broker: KillableBroker
) -> None:
    broker.start()
    stack.start_central()
    stack.seed()
    stack.provision_edge(EDGE)
    stack.start_edge(EDGE)
    # The edge starts empty: it asks central for a snapshot and answers from it.
    wait_until(lambda: edge_lookup(stack, "product/RAW-1") is not None, 60, what="the snapshot")
    found = edge_lookup(stack, "location/A-02")
    assert found is not None and found["data"]["code"] == "A-02"
    # A change at central afterwards reaches the edge's cache as a delta.
    stack.api(
        "POST", "/products", json={"site": SITE, "code": "NEW-1", "name": "New one", "uom": "ea"}
    )
    engine = make_engine(stack.db_url)
    try:
        async with engine.begin() as conn:
            await write_events(conn, [DomainEvent(EventType.PRODUCT_CHANGED, SITE, "NEW-1")])
    finally:
        await engine.dispose()
    wait_until(lambda: edge_lookup(stack, "product/NEW-1") is not None, 60, what="the delta")
    new = edge_lookup(stack, "product/NEW-1")
    assert new is not None and new["data"]["name"] == "New one"

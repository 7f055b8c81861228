"""`ioe central run` publishes reference data and answers snapshot requests, as wired in the
server: a change made through the REST API reaches the site's topic as a delta the provisioned
edge's key (``central_key`` in its edge.toml) verifies, and a request signed with the edge's
secret is answered with pages holding what the API shows; a real edge agent fills its cache
from a snapshot and follows central's deltas."""

import asyncio
import tomllib
import uuid
from typing import Any

from central.clock import now
from harness import wait_until
from harness.stack import SITE, KillableBroker, Stack
from protocol import format_ts
from protocol.ref import RefDelta, RefSnapshotPage, RefSnapshotRequest, read_ref, sign_request
from protocol.topics import ref_filter, ref_request_topic, ref_snapshot_topic, ref_topic
from runtime.mqtt import Message, MqttConnection

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
        (raw,) = stack.api("GET", "/products", params={"site": SITE, "q": "RAW-1"})["items"]
        renamed = {"name": "Raw material, sifted", "uom": raw["uom"]}
        stack.api("PUT", f"/products/{raw['id']}", json=renamed)
        # The seed's own deltas may still be on their way: the change's is the one with the
        # new name.
        delta = await next_delta(watcher, key, ("RAW-1", "Raw material, sifted"), 30)
        assert [(i.key, (i.data or {}).get("name")) for i in delta.items] == [
            ("RAW-1", "Raw material, sifted")
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


async def next_delta(
    conn: MqttConnection, key: bytes, product: tuple[str, str], timeout: float
) -> RefDelta:
    """The next product delta, verified with central's key, that carries ``product`` (its
    code and name)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        message = await next_on(conn, ref_topic(SITE, "product"), max(left, 0.01))
        delta = read_ref(message.payload, key, RefDelta)
        if any((i.key, (i.data or {}).get("name")) == product for i in delta.items):
            return delta


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
    # A product added through the API afterwards reaches the edge's cache as a delta.
    stack.api(
        "POST", "/products", json={"site": SITE, "code": "NEW-1", "name": "New one", "uom": "ea"}
    )
    wait_until(lambda: edge_lookup(stack, "product/NEW-1") is not None, 60, what="the delta")
    new = edge_lookup(stack, "product/NEW-1")
    assert new is not None and new["data"]["name"] == "New one"

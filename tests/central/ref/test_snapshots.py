"""Snapshots on request: every page arrives and matches the database, consistent with the
heads; forged, unknown and flooding requests get nothing, are recorded, and cost ingest
nothing; reference messages signed with another key are refused."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select, update

from central.clock import now
from central.db.tables import license_plates, ref_heads, security_events, stock_moves
from central.events.outbox import DomainEvent
from central.events.reading import last_event_id
from central.events.sequencer import sequence_all
from central.events.types import EventType
from protocol import SignatureRefused, encode_batch, read_acks
from protocol.ref import (
    FIRST_KINDS,
    REF_KINDS,
    RefDelta,
    RefHead,
    read_ref,
    sign_ref,
)
from protocol.topics import ack_topic, act_topic, ref_request_topic, ref_topic
from runtime.mqtt import Message
from tests.central.conftest import EDGE, SITE, Central
from tests.central.ref.conftest import (
    PAGE_SIZE,
    REQUEST,
    SNAPSHOT,
    RefStack,
    next_message,
    pages_of,
    request,
    running,
)


async def test_a_snapshot_holds_every_live_record_and_the_heads(ref_stack: RefStack) -> None:
    c = ref_stack.central
    for number, qty in (("LP-1", "10"), ("LP-2", "5"), ("LP-3", "7"), ("LP-OLD", "1")):
        assert (await c.receive(number, qty)).result.value == "applied"
    for number in ("LP-3", "LP-OLD"):
        consumed = await c.send_one(c.env("lp.consume", {"lp": number, "work_order": "WO-1001"}))
        assert consumed.result.value == "applied", consumed
    # LP-OLD was consumed four days ago: past ref_lp_keep_hours, so no edge needs it now.
    long_ago = now() - timedelta(hours=100)
    async with c.engine.begin() as conn:
        old = select(license_plates.c.id).where(license_plates.c.number == "LP-OLD")
        await conn.execute(
            update(stock_moves)
            .where(stock_moves.c.lp_id == old.scalar_subquery())
            .values(recorded_at=long_ago)
        )
        await conn.execute(
            update(license_plates)
            .where(license_plates.c.number == "LP-OLD")
            .values(created_at=long_ago)
        )
    # The floor's own events (receipts, consumptions) published first, so the next delta on
    # the topic is the one of the event below.
    await sequence_all(c.engine)
    async with c.engine.connect() as conn:
        newest = await last_event_id(conn)
    await ref_stack.settled(newest)
    watch = await ref_stack.watcher(ref_topic(SITE, "lp"))
    await ref_stack.emit(DomainEvent(EventType.LP_CREATED, SITE, "LP-1", {}))
    delta = ref_stack.delta(await next_message(watch, ref_topic(SITE, "lp")))
    await watch.close()
    await ref_stack.settled(delta.id)

    edge = await ref_stack.watcher(SNAPSHOT)
    asked, payload = request(c.secrets[EDGE])
    await edge.publish(REQUEST, payload)
    pages = await pages_of(ref_stack, edge, asked)
    await edge.close()

    assert [p.page for p in pages] == list(range(1, len(pages) + 1))
    assert all(p.as_of == pages[0].as_of and p.edge == EDGE for p in pages)
    assert pages[0].as_of["lp"] == delta.id
    async with c.engine.connect() as conn:
        heads = dict((await conn.execute(select(ref_heads.c.kind, ref_heads.c.delta_id))).all())
    assert {k: v for k, v in pages[0].as_of.items() if v} == heads
    assert all(len(p.items) <= PAGE_SIZE for p in pages)
    got: dict[str, dict[str, Any]] = {}
    for page in pages:
        for item in page.items:
            assert item.op == "upsert" and item.data is not None
            got.setdefault(page.kind, {})[item.key] = item.data
    # No kinds named: the first kinds (an edge older than shipments asks so, and could not
    # read a shipment page); an edge names the later kinds it wants.
    assert {p.kind for p in pages} == set(FIRST_KINDS) == set(REF_KINDS) - {"shipment"}
    products = await c.rows("SELECT code, name, uom FROM products WHERE site = :s", s=SITE)
    assert {k: (d["code"], d["name"], d["uom"]) for k, d in got["product"].items()} == {
        code: (code, name, uom) for code, name, uom in products
    }
    locations = await c.rows("SELECT code, kind FROM locations WHERE site = :s", s=SITE)
    assert {k: d["kind"] for k, d in got["location"].items()} == dict(locations)
    lps = await c.rows(
        "SELECT lp.number, lp.status, loc.code FROM license_plates lp"
        " JOIN locations loc ON loc.id = lp.location_id WHERE lp.site = :s",
        s=SITE,
    )
    expected = {n: (status, where) for n, status, where in lps if n != "LP-OLD"}
    assert {k: (d["status"], d["location"]) for k, d in got["lp"].items()} == expected
    assert got["lp"]["LP-2"]["qty"] == "5" and got["lp"]["LP-3"]["status"] == "consumed"
    wos = await c.rows("SELECT number, status FROM work_orders WHERE site = :s", s=SITE)
    assert {k: d["status"] for k, d in got["work_order"].items()} == dict(wos)
    # none open: each kind still has a page
    assert "task" not in got and "hold" not in got


async def test_kinds_asked_are_the_kinds_sent(ref_stack: RefStack) -> None:
    edge = await ref_stack.watcher(SNAPSHOT)
    asked, payload = request(ref_stack.central.secrets[EDGE], kinds=["location"])
    await edge.publish(REQUEST, payload)
    pages = await pages_of(ref_stack, edge, asked)
    await edge.close()
    assert {p.kind for p in pages} == {"location"}
    assert sorted(i.key for p in pages for i in p.items) == ["A-01", "A-02", "RECV", "SHIP-1"]


async def security_rows(c: Central) -> list[tuple[Any, ...]]:
    async with c.engine.connect() as conn:
        rows = await conn.execute(
            select(
                security_events.c.kind,
                security_events.c.source,
                security_events.c.edge,
                security_events.c.count,
            )
        )
        return sorted(tuple(row) for row in rows)


async def test_forged_and_unknown_requests_get_nothing_and_are_recorded(
    ref_stack: RefStack,
) -> None:
    c = ref_stack.central
    await c.provision("edge-2")
    edge = await ref_stack.watcher(SNAPSHOT)
    stranger_topic = ref_request_topic(SITE, "edge-x")
    other_topic = ref_request_topic(SITE, "edge-2")
    _, forged = request("not-the-edges-key")
    _, unknown = request("whatever", edge="edge-x")
    _, for_edge_1 = request(c.secrets["edge-2"])  # edge-2's key, asking as edge-1
    await edge.publish(REQUEST, forged)
    await edge.publish(stranger_topic, unknown)
    await edge.publish(other_topic, for_edge_1)
    # The control: a genuine request after them is answered, and its pages come first.
    asked, genuine = request(c.secrets[EDGE], kinds=["product"])
    await edge.publish(REQUEST, genuine)
    pages = await pages_of(ref_stack, edge, asked)
    await edge.close()
    assert pages and ref_stack.snapshots.counters.refused == 3
    assert await security_rows(c) == [
        ("BAD_SIGNATURE", REQUEST, EDGE, 1),
        ("WRONG_EDGE", other_topic, "edge-2", 1),
        ("WRONG_EDGE", stranger_topic, "edge-x", 1),
    ]


async def test_a_flood_of_requests_is_bounded_and_ingest_goes_on(
    seeded: Central, own_broker: str
) -> None:
    # A rate this low refills nothing while the test runs, however slow the machine.
    async with running(seeded, own_broker, ref_request_rate=0.001) as ref_stack:
        await _flood(ref_stack)


async def _flood(ref_stack: RefStack) -> None:
    c = ref_stack.central
    burst = c.settings.ref_request_burst
    edge = await ref_stack.watcher(SNAPSHOT, ack_topic(SITE, EDGE))
    for _ in range(40):
        await edge.publish(REQUEST, request(c.secrets[EDGE], kinds=["location"])[1])
    batch = encode_batch(
        [
            c.env(
                "lp.receive",
                {"item": "RAW-1", "qty": "1", "uom": "kg", "location": "RECV", "lp": "LP-F"},
            )
        ]
    )
    await edge.publish(act_topic(SITE, EDGE), batch)
    ack = await next_message(edge, ack_topic(SITE, EDGE), timeout=10)
    (answer,) = read_acks(ack.payload, site=SITE, edge=EDGE, secret=c.secrets[EDGE])
    assert answer.result.value == "applied"
    counters = ref_stack.snapshots.counters
    for _ in range(200):
        if counters.answered + counters.rate_limited >= 40:
            break
        await asyncio.sleep(0.05)
    await edge.close()
    assert counters.answered == burst
    assert counters.rate_limited == 40 - burst


async def test_a_reference_message_signed_with_another_key_is_refused(
    ref_stack: RefStack,
) -> None:
    watch = await ref_stack.watcher(ref_topic(SITE, "lp"))
    await ref_stack.emit(DomainEvent(EventType.LP_CREATED, SITE, "LP-Z", {}))
    genuine = (await next_message(watch, ref_topic(SITE, "lp"))).payload
    await watch.close()
    delta = ref_stack.delta(Message("", genuine, 1, False))
    other_seed = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    forged = sign_ref(delta.model_copy(update={"prev": 0, "id": 10**6}), other_seed)
    with pytest.raises(SignatureRefused) as refused:
        read_ref(forged, ref_stack.public_key, RefDelta)
    assert refused.value.reason == "REF_BAD_SIGNATURE"
    altered = genuine.replace(b'"LP-Z"', b'"LP-Q"')
    assert altered != genuine
    with pytest.raises(SignatureRefused):
        read_ref(altered, ref_stack.public_key, RefDelta)
    # A genuine delta is not a head: the signature covers what it is.
    with pytest.raises(SignatureRefused):
        read_ref(genuine, ref_stack.public_key, RefHead)


async def test_the_bound_on_requests_is_the_setting(seeded: Central, own_broker: str) -> None:
    """The control for the flood test's bound: with a larger burst, more are answered."""
    # A rate this low refills nothing while the test runs, however slow the machine.
    async with running(seeded, own_broker, ref_request_burst=6, ref_request_rate=0.001) as stack:
        edge = await stack.watcher(SNAPSHOT)
        for _ in range(10):
            await edge.publish(REQUEST, request(seeded.secrets[EDGE], kinds=["hold"])[1])
        counters = stack.snapshots.counters
        for _ in range(200):
            if counters.answered + counters.rate_limited >= 10:
                break
            await asyncio.sleep(0.05)
        await edge.close()
        assert stack.snapshots.counters.answered == 6
        assert stack.snapshots.counters.rate_limited == 4
    rows = await seeded.rows("SELECT count(*) FROM security_events")
    assert rows == [(0,)]

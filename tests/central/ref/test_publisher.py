"""Changes at central reach the edges' topics as signed deltas, chained per (site, kind), with
the retained head; while the broker is away nothing is lost and the chain has no gap."""

import pytest
from sqlalchemy import select

from central.access.callers import OPEN_CALLER
from central.catalog.products import create_product
from central.db.tables import event_consumers, ref_heads
from central.events.consumers import claim, consume
from central.events.outbox import DomainEvent, write_events
from central.events.reading import StoredEvent, last_event_id
from central.events.relay import EventRelay
from central.events.sequencer import sequence_all
from central.events.types import EventType
from central.identity import state_signing_seed
from central.ref.link import BrokerAway, BrokerLink
from central.ref.publisher import CONSUMER, RefPublisher
from protocol import central_public_key
from protocol.ref import RefDelta, RefItem, read_ref
from protocol.topics import ref_filter, ref_topic
from runtime.mqtt import MqttConnection
from tests.central.conftest import SITE, Central
from tests.central.orders.helpers import make_order, release, stock
from tests.central.ref.conftest import RefStack, messages_until, next_message

LP_TOPIC, WO_TOPIC = ref_topic(SITE, "lp"), ref_topic(SITE, "work_order")
HEAD_TOPIC = ref_topic(SITE, "head")


def event(type: EventType, subject: str, **payload: object) -> DomainEvent:
    return DomainEvent(type, SITE, subject, payload)


async def test_a_product_made_at_central_reaches_the_edges_signed(ref_stack: RefStack) -> None:
    watch = await ref_stack.watcher(ref_filter(SITE))
    async with ref_stack.central.engine.begin() as conn:
        await create_product(
            conn,
            site=SITE,
            code="NEW-1",
            name="New one",
            uom="ea",
            gtin="09506000134352",
            shelf_life_days=30,
            caller=OPEN_CALLER,
        )
        await write_events(conn, [event(EventType.PRODUCT_CHANGED, "NEW-1")])
    delta = ref_stack.delta(await next_message(watch, ref_topic(SITE, "product")))
    head = ref_stack.head(await next_message(watch, HEAD_TOPIC))
    await watch.close()
    assert (delta.site, delta.kind, delta.prev) == (SITE, "product", 0)
    assert delta.items == [
        RefItem(
            op="upsert",
            key="NEW-1",
            data={
                "code": "NEW-1",
                "name": "New one",
                "uom": "ea",
                "type": "raw",
                "gtins": ["09506000134352"],
                "shelf_life_days": 30,
            },
        )
    ]
    assert head.heads["product"] == delta.id and head.heads["lp"] == 0


async def test_floor_actions_reach_the_edges_as_a_continuous_chain(ref_stack: RefStack) -> None:
    c = ref_stack.central
    watch = await ref_stack.watcher(ref_filter(SITE))
    assert (await c.receive("LP-1", "10")).result.value == "applied"
    await ref_stack.emit(event(EventType.LP_CREATED, "LP-1"))
    first = ref_stack.delta(await next_message(watch, LP_TOPIC))
    ack = await c.send_one(c.env("lp.move", {"lp": "LP-1", "to_location": "A-01"}))
    assert ack.result.value == "applied"
    await ref_stack.emit(event(EventType.LP_MOVED, "LP-1", to="A-01"))
    second = ref_stack.delta(await next_message(watch, LP_TOPIC))
    # Several changes committed together: one delta per kind, its id the newest event's.
    for number in ("LP-2", "LP-3"):
        assert (await c.receive(number, "4", location="A-02")).result.value == "applied"
    await ref_stack.emit(
        event(EventType.LP_CREATED, "LP-2"),
        event(EventType.LP_CREATED, "LP-3"),
        event(EventType.WO_STARTED, "WO-1001", lps=["LP-1"]),
    )
    wanted = {LP_TOPIC, WO_TOPIC}
    step = await messages_until(watch, lambda m: wanted.discard(m.topic) or not wanted)
    by_topic = {m.topic: ref_stack.delta(m) for m in step if m.topic != HEAD_TOPIC}
    third, wo = by_topic[LP_TOPIC], by_topic[WO_TOPIC]
    await watch.close()

    assert first.prev == 0 and second.prev == first.id and third.prev == second.id
    assert third.id == wo.id  # the newest event of the step named both kinds
    assert first.items[0].data == {
        "number": "LP-1",
        "product": "RAW-1",
        "lot": None,
        "expiry": None,
        "qty": "10",
        "uom": "kg",
        "location": "RECV",
        "status": "available",
        "parent": None,
    }
    assert second.items[0].data is not None and second.items[0].data["location"] == "A-01"
    assert [i.key for i in third.items] == ["LP-1", "LP-2", "LP-3"]
    assert wo.items[0].data is not None
    assert (wo.items[0].key, wo.items[0].data["status"]) == ("WO-1001", "released")
    # The head is retained: an edge that connects now learns how far each chain got.
    await ref_stack.settled(third.id)
    late = await ref_stack.watcher(HEAD_TOPIC)
    retained = await next_message(late, HEAD_TOPIC)
    await late.close()
    assert retained.retain
    head = ref_stack.head(retained)
    async with c.engine.connect() as conn:
        stored = dict((await conn.execute(select(ref_heads.c.kind, ref_heads.c.delta_id))).all())
    assert stored == {"lp": third.id, "work_order": wo.id}
    assert {k: v for k, v in head.heads.items() if v} == stored


async def test_an_order_release_reaches_the_edges_as_its_pick_tasks(ref_stack: RefStack) -> None:
    c = ref_stack.central
    await stock(c, "A", "5", location="A-01")
    order = await make_order(c, lines=[{"product": "RAW-1", "qty": "3", "unit_price": "1"}])
    released = await release(c, order["id"])
    assert released.status_code == 200, released.text
    tasks = released.json()["tasks"]
    watch = await ref_stack.watcher(ref_topic(SITE, "task"))
    await ref_stack.emit(
        event(EventType.ORDER_RELEASED, order["number"], lps=["A"]),
        *(event(EventType.TASK_CREATED, t["number"]) for t in tasks),
    )
    delta = ref_stack.delta(await next_message(watch, ref_topic(SITE, "task")))
    await watch.close()
    assert [i.key for i in delta.items] == sorted(t["number"] for t in tasks)
    data = delta.items[0].data
    assert data is not None
    assert (data["order"], data["lp"], data["qty"], data["status"]) == (
        order["number"],
        "A",
        "3",
        "open",
    )
    assert data["to_location"] == tasks[0]["to_location"]


async def test_a_removed_record_is_a_delete(ref_stack: RefStack) -> None:
    watch = await ref_stack.watcher(LP_TOPIC)
    await ref_stack.emit(event(EventType.LP_ADJUSTED, "NO-SUCH-LP"))
    delta = ref_stack.delta(await next_message(watch, LP_TOPIC))
    await watch.close()
    assert delta.items == [RefItem(op="delete", key="NO-SUCH-LP")]


async def test_while_the_broker_is_away_the_step_waits_and_nothing_is_skipped(
    seeded: Central, own_broker: str
) -> None:
    settings = seeded.settings
    seed = state_signing_seed(settings)
    link = BrokerLink()
    publisher = RefPublisher(link, seed, wait_seconds=0.2)
    await sequence_all(seeded.engine)  # the seed's own events: the consumer starts after them
    async with seeded.engine.connect() as conn:
        start = await last_event_id(conn)
    claimed = await claim(seeded.engine, CONSUMER, "relay-test", 30)
    assert claimed is not None
    async with seeded.engine.begin() as conn:
        await write_events(conn, [event(EventType.LP_CREATED, "LP-9")])
    await sequence_all(seeded.engine)
    with pytest.raises(BrokerAway):
        await consume(seeded.engine, publisher, claimed, "relay-test", 30)
    async with seeded.engine.connect() as conn:
        position = await conn.scalar(
            select(event_consumers.c.position).where(event_consumers.c.name == CONSUMER)
        )
        assert position == start  # the step rolled back: the event will be handed over again
        assert await conn.scalar(select(ref_heads.c.delta_id)) is None
    async with (
        await MqttConnection.open(own_broker, timeout=5) as central_side,
        await MqttConnection.open(own_broker, timeout=5) as edge,
    ):
        await edge.subscribe(LP_TOPIC)
        link.attach(central_side)  # the broker is back
        assert await consume(seeded.engine, publisher, claimed, "relay-test", 30) == 1
        (message,) = await messages_until(edge, lambda m: m.topic == LP_TOPIC)
    delta = read_ref(message.payload, central_public_key(seed), RefDelta)
    assert (delta.id, delta.prev, delta.items[0].op) == (start + 1, 0, "delete")
    assert claimed.position == start + 1


class Recorder:
    """Another consumer of the outbox (as the webhook fan-out would be)."""

    name = "test-recorder"
    types = None
    sites = None

    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, conn: object, events: list[StoredEvent]) -> None:
        self.seen.extend(e.id for e in events)


async def test_while_the_broker_is_away_the_other_consumers_are_fed(seeded: Central) -> None:
    settings = seeded.settings.model_copy(update={"relay_lease_seconds": 60})
    link = BrokerLink()  # never connected
    recorder = Recorder()
    relay = EventRelay(seeded.engine, settings, [RefPublisher(link, b"\x01" * 32), recorder])
    await relay.pass_once()  # both claim, at the newest event (the seed's last)
    async with seeded.engine.connect() as conn:
        start = await last_event_id(conn)
    events = [event(EventType.LP_CREATED, "LP-1"), event(EventType.LP_MOVED, "LP-1")]
    async with seeded.engine.begin() as conn:
        await write_events(conn, events)
    assert await relay.pass_once() == 2  # the recorder's; the publisher's step was given back
    assert recorder.seen == [start + 1, start + 2]
    async with seeded.engine.connect() as conn:
        positions = dict(
            (await conn.execute(select(event_consumers.c.name, event_consumers.c.position))).all()
        )
    assert positions == {CONSUMER: start, "test-recorder": start + 2}

"""What a station's progress needs reaches the edges as the floor and the office change it: a
work order's consumed and produced figures on each consume and output, and a shipment's
orders, planned and loaded LPs and status from planning, picking, loading and dispatch. Every
change goes through central's own doors (the API, floor actions), whose events the publisher
turns into deltas; each figure is the one central's REST answers give."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from central.clock import now
from central.db.tables import shipments
from protocol import AckResult
from protocol.topics import ref_topic
from runtime.mqtt import MqttConnection
from tests.central.conftest import EDGE, SITE, Central
from tests.central.orders.helpers import make_order, release, stock
from tests.central.ref.conftest import (
    REQUEST,
    SNAPSHOT,
    RefStack,
    messages_until,
    pages_of,
    request,
)
from tests.central.shipping.seed import Line, picked_order
from tests.central.shipping.steps import dispatch, loaded, plan, shipment

API = "/api/v1"
WO_TOPIC, SHIPMENT_TOPIC = ref_topic(SITE, "work_order"), ref_topic(SITE, "shipment")


async def record_when(
    stack: RefStack,
    watch: MqttConnection,
    topic: str,
    key: str,
    check: Callable[[dict[str, Any]], bool],
) -> dict[str, Any]:
    """The data of the first upsert of ``key`` on ``topic`` for which ``check`` holds (every
    delta checked against central's key on the way)."""
    found: list[dict[str, Any]] = []

    def done(message: Any) -> bool:
        if message.topic != topic:
            return False
        for item in stack.delta(message).items:
            if item.key == key and item.data is not None and check(item.data):
                found.append(item.data)
        return bool(found)

    await messages_until(watch, done)
    return found[0]


async def applied(c: Central, type: str, body: dict[str, Any]) -> None:
    """A floor action that must apply."""
    ack = await c.send_one(c.env(type, body))
    assert ack.result == AckResult.APPLIED, ack


async def work_order_with_bom(c: Central) -> dict[str, Any]:
    """WO-2 released for 5 FG-1, whose BOM takes 2 kg of RAW-1 (or RAW-2) per unit; LP-1
    (10 kg of RAW-1) and LP-2 (3 kg of RAW-2) in stock."""
    made = await c.client.post(
        f"{API}/products", json={"site": SITE, "code": "RAW-2", "name": "RAW-2", "uom": "kg"}
    )
    assert made.status_code == 201, made.text
    ((fg,),) = await c.rows("SELECT id FROM products WHERE code = 'FG-1'")
    bom = {"items": [{"component": "RAW-1", "qty_per": "2", "alternatives": ["RAW-2"]}]}
    saved = await c.client.post(f"{API}/products/{fg}/bom", json=bom)
    assert saved.status_code in (200, 201), saved.text
    await stock(c, "LP-1", "10")
    await stock(c, "LP-2", "3", item="RAW-2")
    wo = await c.client.post(
        f"{API}/work-orders",
        json={"site": SITE, "number": "WO-2", "product": "FG-1", "qty": "5", "status": "released"},
    )
    assert wo.status_code == 201, wo.text
    body: dict[str, Any] = wo.json()
    return body


async def test_consumes_and_outputs_reach_the_edges_as_the_work_orders_figures(
    ref_stack: RefStack,
) -> None:
    c = ref_stack.central
    wo = await work_order_with_bom(c)
    watch = await ref_stack.watcher(WO_TOPIC)

    await applied(c, "lp.consume", {"lp": "LP-1", "work_order": "WO-2", "qty": "4"})
    first = await record_when(
        ref_stack, watch, WO_TOPIC, "WO-2", lambda d: d["materials"][0]["qty_consumed"] == "4"
    )
    # An alternative counts on its line, as the materials API counts it.
    await applied(c, "lp.consume", {"lp": "LP-2", "work_order": "WO-2", "qty": "1.5"})
    second = await record_when(
        ref_stack, watch, WO_TOPIC, "WO-2", lambda d: d["materials"][0]["qty_consumed"] != "4"
    )
    await applied(c, "wo.output", {"work_order": "WO-2", "qty": "2", "location": "A-01"})
    made = await record_when(ref_stack, watch, WO_TOPIC, "WO-2", lambda d: d["qty_produced"] != "0")
    await watch.close()

    assert first["materials"] == [
        {
            "product": "RAW-1",
            "qty": "10",
            "uom": "kg",
            "alternatives": ["RAW-2"],
            "qty_consumed": "4",
        }
    ]
    assert second["materials"][0]["qty_consumed"] == "5.5"
    materials = (await c.client.get(f"{API}/work-orders/{wo['id']}/materials")).json()
    assert [(m["component"], m["required"], m["consumed"]) for m in materials["items"]] == [
        ("RAW-1", "10", "5.5")
    ]
    assert made["qty_produced"] == "2" and made["status"] == "in_progress"
    shown = (await c.client.get(f"{API}/work-orders/{wo['id']}")).json()
    assert (shown["qty_produced"], shown["status"]) == ("2", "in_progress")
    assert made["materials"] == second["materials"]  # an output consumes nothing


async def test_a_shipment_reaches_the_edges_from_planning_to_dispatch(
    ref_stack: RefStack,
) -> None:
    c = ref_stack.central
    await stock(c, "A", "10", location="A-01")
    order = await make_order(c, lines=[{"product": "RAW-1", "qty": "10", "unit_price": "2"}])
    answer = await release(c, order["id"])
    assert answer.status_code == 200, answer.text
    (task,) = answer.json()["tasks"]
    watch = await ref_stack.watcher(SHIPMENT_TOPIC)

    planned = await plan(c, order["id"], carrier="DHL", planned_date="2026-12-03")
    number = planned["number"]
    first = await record_when(ref_stack, watch, SHIPMENT_TOPIC, number, lambda d: True)
    # The pick of one of its orders' lines: what the shipment is to carry grows.
    await applied(c, "pick.confirm", {"task": task["number"], "lp": "A", "qty": "10"})
    picked = await record_when(
        ref_stack, watch, SHIPMENT_TOPIC, number, lambda d: d["planned"] == ["A"]
    )
    await loaded(c, number, "A")
    on = await record_when(ref_stack, watch, SHIPMENT_TOPIC, number, lambda d: d["loaded"] != [])
    sent = await dispatch(c, planned["id"])
    assert sent.status_code == 200, sent.text
    gone = await record_when(
        ref_stack, watch, SHIPMENT_TOPIC, number, lambda d: d["status"] == "dispatched"
    )
    await watch.close()

    assert first == {
        "number": number,
        "status": "planned",
        "order": order["number"],
        "orders": [order["number"]],
        "carrier": "DHL",
        "planned_date": "2026-12-03",
        "planned": [],
        "loaded": [],
        "dispatched_at": None,
    }
    assert (picked["status"], picked["loaded"]) == ("planned", [])
    assert (on["status"], on["planned"], on["loaded"]) == ("loading", ["A"], ["A"])
    shown = await shipment(c, planned["id"])
    assert gone["loaded"] == [lp["lp"] for lp in shown["loaded"]] == ["A"]
    assert gone["planned"] == [lp["lp"] for lp in shown["planned"]] == []  # shipped
    assert gone["dispatched_at"] is not None and shown["dispatched_at"] is not None
    assert gone["dispatched_at"][:19] == shown["dispatched_at"][:19]


async def snapshot(stack: RefStack, kinds: list[str]) -> dict[str, dict[str, Any]]:
    """An edge's snapshot of ``kinds``: per kind, the records by key."""
    edge = await stack.watcher(SNAPSHOT)
    asked, payload = request(stack.central.secrets[EDGE], kinds=kinds)
    await edge.publish(REQUEST, payload)
    pages = await pages_of(stack, edge, asked)
    await edge.close()
    got: dict[str, dict[str, Any]] = {kind: {} for kind in kinds}
    for page in pages:
        for item in page.items:
            got[page.kind][item.key] = item.data
    return got


async def test_a_snapshot_holds_the_figures_and_the_shipments_not_long_gone(
    ref_stack: RefStack,
) -> None:
    c = ref_stack.central
    await work_order_with_bom(c)
    await applied(c, "lp.consume", {"lp": "LP-1", "work_order": "WO-2", "qty": "4"})
    await applied(c, "wo.output", {"work_order": "WO-2", "qty": "1", "location": "A-01"})
    staying = await picked_order(c, [Line("RAW-1", "5", "2", picked=[("B", "5", None)])])
    leaving = await picked_order(c, [Line("RAW-1", "5", "2", picked=[("C", "5", None)])])
    open_one, gone = await plan(c, staying.id), await plan(c, leaving.id)
    await loaded(c, gone["number"], "C")
    assert (await dispatch(c, gone["id"])).status_code == 200

    got = await snapshot(ref_stack, ["work_order", "shipment"])
    wo = got["work_order"]["WO-2"]
    assert (wo["qty_produced"], wo["materials"][0]["qty_consumed"]) == ("1", "4")
    assert got["shipment"][open_one["number"]]["planned"] == ["B"]
    assert got["shipment"][gone["number"]]["status"] == "dispatched"  # gone lately: kept
    # Dispatched longer ago than IOE_REF_LP_KEEP_HOURS: no edge needs it now.
    async with c.engine.begin() as conn:
        await conn.execute(
            update(shipments)
            .where(shipments.c.number == gone["number"])
            .values(dispatched_at=now() - timedelta(hours=100))
        )
    later = await snapshot(ref_stack, ["shipment"])
    assert sorted(later["shipment"]) == [open_one["number"]]

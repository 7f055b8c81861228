"""API changes write their domain events in the request's transaction, caused by the call's
audit entry: the catalog, work orders, the order thread from creation to dispatch, cancels,
counts, quality holds and conflict resolutions; edge presence writes one event per change."""

from typing import Any

from central.edges.presence import record_edge_state
from central.events.reading import StoredEvent
from protocol import AckResult, EdgeState
from tests.central.conftest import EDGE, SITE, Central
from tests.central.events.emitted import Events, has
from tests.central.order_sync.pages import order, sync
from tests.central.orders.helpers import TASKS, make_order, release, stock
from tests.central.shipping.steps import dispatch, loaded, plan

API = "/api/v1"


async def audit_ids(c: Central, action: str) -> list[str]:
    """Ids of the audit entries of one kind, oldest first."""
    return [
        r[0]
        for r in await c.rows(
            "SELECT id FROM audit_log WHERE action = :a ORDER BY at, id", a=action
        )
    ]


def caused_by(events: list[StoredEvent], cause: str) -> None:
    """Every event was caused by ``cause`` and is of the plant's site."""
    assert [(e.cause, e.site) for e in events] == [(cause, SITE)] * len(events)


async def test_the_catalog_and_a_new_work_order_write_their_events(seeded: Central) -> None:
    written = await Events(seeded).new()
    assert [(e.type, e.subject) for e in written] == [
        ("product.changed", "RAW-1"),
        ("product.changed", "FG-1"),
        ("location.changed", "RECV"),
        ("location.changed", "A-01"),
        ("location.changed", "A-02"),
        ("location.changed", "SHIP-1"),
        ("wo.created", "WO-1001"),
        ("wo.released", "WO-1001"),
    ]
    has(written[0], change="created", code="RAW-1", uom="kg", gtins=[], type="raw")
    has(written[5], change="created", code="SHIP-1", kind="shipping")
    has(written[6], product="FG-1", qty_planned="100", status="planned", materials=[])
    has(written[7], status="released", **{"from": "planned"})
    creates = await audit_ids(seeded, "product.create")
    assert [e.cause for e in written[:2]] == creates
    (wo_create,) = await audit_ids(seeded, "wo.create")
    caused_by(written[6:], wo_create)


async def test_the_work_order_lifecycle_through_the_api(seeded: Central) -> None:
    events = Events(seeded)
    await events.new()
    body = {"site": SITE, "number": "WO-2", "product": "FG-1", "qty_planned": "10"}
    made = await seeded.client.post(f"{API}/work-orders", json=body)
    assert made.status_code == 201, made.text
    wo = made.json()["id"]
    assert await events.types() == [("wo.created", "WO-2")]
    edited = await seeded.client.patch(f"{API}/work-orders/{wo}", json={"qty_planned": "12"})
    assert edited.status_code == 200, edited.text
    (updated,) = await events.new()
    assert (updated.type, updated.cause) == ("wo.updated", (await audit_ids(seeded, "wo.edit"))[0])
    has(updated, changed={"qty_planned": {"from": "10", "to": "12"}})
    for step, kind in (
        ("release", "wo.released"),
        ("start", "wo.started"),
        ("complete", "wo.completed"),
    ):
        assert (await seeded.client.post(f"{API}/work-orders/{wo}/{step}")).status_code == 200
        (event,) = await events.new()
        assert (event.type, event.subject) == (kind, "WO-2")
    # closing is bookkeeping, not an event; cancelling is
    assert (await seeded.client.post(f"{API}/work-orders/{wo}/close")).status_code == 200
    assert await events.types() == []
    made = await seeded.client.post(f"{API}/work-orders", json={**body, "number": "WO-3"})
    cancel = await seeded.client.post(
        f"{API}/work-orders/{made.json()['id']}/cancel", json={"reason": "no demand"}
    )
    assert cancel.status_code == 200, cancel.text
    created, cancelled = await events.new()
    assert (cancelled.type, cancelled.subject) == ("wo.cancelled", "WO-3")
    has(cancelled, reason="no demand", status="cancelled", **{"from": "planned"})


async def test_an_order_from_creation_to_dispatch(seeded: Central) -> None:
    await stock(seeded, "A", "10", location="A-01")
    events = Events(seeded)
    await events.new()
    order = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "10", "unit_price": "2"}])
    number = order["number"]
    (created,) = await events.new()
    assert (created.type, created.subject) == ("order.created", number)
    has(created, customer="ACME", lines=[{"line": 1, "product": "RAW-1", "qty": "10", "uom": "kg"}])
    caused_by([created], (await audit_ids(seeded, "so.create"))[0])

    answer = await release(seeded, order["id"])
    assert answer.status_code == 200, answer.text
    (task,) = answer.json()["tasks"]
    written = await events.new()
    assert [(e.type, e.subject) for e in written] == [
        ("task.created", task["number"]),
        ("order.released", number),
    ]
    has(written[0], order=number, lp="A", location="A-01", to_location="SHIP-1", qty="10")
    caused_by(written, (await audit_ids(seeded, "so.release"))[0])

    assigned = await seeded.client.post(
        f"{TASKS}/{task['number']}/assign", json={"assignee": "picker-1"}
    )
    assert assigned.status_code == 200, assigned.text
    (event,) = await events.new()
    assert (event.type, event.subject) == ("task.assigned", task["number"])
    has(event, assignee="picker-1", order=number)

    env = seeded.env("pick.confirm", {"task": task["number"], "lp": "A", "qty": "10"})
    assert (await seeded.send_one(env)).result == AckResult.APPLIED
    written = await events.new()
    assert [(e.type, e.subject) for e in written] == [
        ("lp.picked", "A"),
        ("task.done", task["number"]),
        ("order.picked", number),
    ]
    has(written[0], **{"from": "A-01", "to": "SHIP-1"}, order=number, picked_qty="10")
    assert {e.cause for e in written} == {env["id"]}

    shipment = await plan(seeded, order["id"], carrier="DHL")
    (planned,) = await events.new()
    assert (planned.type, planned.subject) == ("shipment.planned", shipment["number"])
    has(
        planned,
        status="planned",
        orders=[number],
        added=[number],
        carrier="DHL",
        planned_date=None,
        planned=["A"],
    )
    caused_by([planned], (await audit_ids(seeded, "shipment.plan"))[0])
    await loaded(seeded, shipment["number"], "A")
    assert await events.types() == [("lp.loaded", "A")]
    sent = await dispatch(seeded, shipment["id"])
    assert sent.status_code == 200, sent.text
    written = await events.new()
    assert [(e.type, e.subject) for e in written] == [
        ("lp.shipped", "A"),
        ("order.shipped", number),
        ("shipment.dispatched", shipment["number"]),
    ]
    has(written[0], status="shipped", qty="0", shipped_qty="10", shipment=shipment["number"])
    has(written[2], lps=["A"], orders=[number])
    caused_by(written, (await audit_ids(seeded, "shipment.dispatch"))[0])


async def test_a_cancelled_order_cancels_its_open_tasks(seeded: Central) -> None:
    await stock(seeded, "A", "10", location="A-01")
    order = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "4", "unit_price": "2"}])
    (task,) = (await release(seeded, order["id"])).json()["tasks"]
    events = Events(seeded)
    await events.new()
    cancel = await seeded.client.post(
        f"{API}/orders/{order['id']}/cancel", json={"reason": "customer called"}
    )
    assert cancel.status_code == 200, cancel.text
    written = await events.new()
    assert [(e.type, e.subject) for e in written] == [
        ("task.cancelled", task["number"]),
        ("order.cancelled", order["number"]),
    ]
    has(written[1], reason="customer called", tasks=[task["number"]], **{"from": "released"})
    caused_by(written, (await audit_ids(seeded, "so.cancel"))[0])


async def test_an_approved_count_adjusts_its_lps(seeded: Central) -> None:
    await stock(seeded, "LP-1", "10", location="A-01")
    opened = await seeded.client.post(
        f"{API}/counts", json={"site": SITE, "location": "A-01", "scope": "full"}
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()
    body = {"session": session["number"], "location": "A-01", "lps": [{"lp": "LP-1", "qty": "7"}]}
    assert (await seeded.send_one(seeded.env("count.record", body))).result == AckResult.APPLIED
    events = Events(seeded)
    await events.new()
    approved = await seeded.client.post(f"{API}/counts/{session['id']}/approve")
    assert approved.status_code == 200, approved.text
    written = await events.new()
    assert [(e.type, e.subject) for e in written] == [
        ("lp.adjusted", "LP-1"),
        ("count.approved", str(session["id"])),
    ]
    has(written[0], qty="7", from_qty="10", difference="-3", reason="count")
    has(written[1], number=session["number"], lps=["LP-1"])
    caused_by(written, (await audit_ids(seeded, "count.approve"))[0])


async def test_holds_placed_and_released_through_the_api(seeded: Central) -> None:
    await stock(seeded, "LP-1", "10", location="A-01")
    events = Events(seeded)
    await events.new()
    held = await seeded.client.post(
        f"{API}/quality/holds", json={"site": SITE, "lp": "LP-1", "reason": "swab"}
    )
    assert held.status_code == 201, held.text
    (hold,) = await events.new()
    hold_id = held.json()["hold"]["id"]
    assert (hold.type, hold.subject) == ("quality.hold", "LP-1")
    has(hold, hold_id=hold_id, lps=["LP-1"], reason="swab")
    caused_by([hold], (await audit_ids(seeded, "quality.hold"))[0])
    freed = await seeded.client.post(
        f"{API}/quality/holds/{hold_id}/release", json={"reason": "swab clean"}
    )
    assert freed.status_code == 200, freed.text
    (release_,) = await events.new()
    assert (release_.type, release_.subject) == ("quality.release", "LP-1")
    has(release_, hold_id=hold_id, lps=["LP-1"], reason="swab clean")


async def resolve(c: Central, conflict_id: int, resolution: str) -> dict[str, Any]:
    answer = await c.client.post(
        f"{API}/conflicts/{conflict_id}/resolve",
        json={"resolution": resolution, "reason": "checked on the floor"},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_conflict_resolutions_write_their_corrections_and_conflict_resolved(
    seeded: Central,
) -> None:
    await stock(seeded, "LP-1", "10", location="A-01")
    over = seeded.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001", "qty": "12"})
    voided = seeded.env("lp.move", {"lp": "NOPE", "to_location": "A-01"})
    first, second = await seeded.send(over, voided)
    events = Events(seeded)
    assert [e.type for e in await events.new()][-2:] == ["conflict.opened", "conflict.opened"]

    await resolve(seeded, first.conflict_id or 0, "apply")
    written = await events.new()
    assert [(e.type, e.subject) for e in written] == [
        ("lp.adjusted", "LP-1"),
        ("lp.consumed", "LP-1"),
        ("wo.started", "WO-1001"),
        ("conflict.resolved", str(first.conflict_id)),
    ]
    has(written[0], from_qty="10", qty="12", difference="2", reason="correction")
    has(written[3], resolution="apply", status="resolved", action_id=over["id"])
    caused_by(written, (await audit_ids(seeded, "conflict.resolve"))[0])

    await resolve(seeded, second.conflict_id or 0, "void")
    (event,) = await events.new()
    assert (event.type, event.subject) == ("conflict.resolved", str(second.conflict_id))
    has(event, resolution="void", status="voided")


async def test_presence_writes_one_event_per_change_not_per_report(seeded: Central) -> None:
    events = Events(seeded)
    await events.new()
    flaps = [True, True, False, False, False, True, True, False]
    for online in flaps:
        state = EdgeState(online=online, queue_depth=3, version="1.0")
        await record_edge_state(
            seeded.engine, site=SITE, edge=EDGE, payload=state.model_dump_json().encode()
        )
    written = await events.new()
    assert [(e.type, e.subject) for e in written] == [
        ("edge.online", EDGE),
        ("edge.offline", EDGE),
        ("edge.online", EDGE),
        ("edge.offline", EDGE),
    ]
    has(written[0], online=True, queue_depth=3, version="1.0")
    # an edge central does not know changes nothing, and writes nothing
    state = EdgeState(online=True).model_dump_json().encode()
    await record_edge_state(seeded.engine, site=SITE, edge="stranger", payload=state)
    assert await events.types() == []


async def test_a_part_pick_makes_its_lp_and_a_done_part_task(seeded: Central) -> None:
    await stock(seeded, "A", "10", location="A-01")
    order = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "10", "unit_price": "2"}])
    (task,) = (await release(seeded, order["id"])).json()["tasks"]
    events = Events(seeded)
    await events.new()
    body = {"task": task["number"], "lp": "A", "qty": "4", "new_lp": "A-PART"}
    env = seeded.env("pick.confirm", body)
    assert (await seeded.send_one(env)).result == AckResult.APPLIED
    written = await events.new()
    assert [e.type for e in written] == ["lp.created", "lp.picked", "task.done"]
    assert [e.subject for e in written[:2]] == ["A-PART", "A-PART"]
    has(written[0], how="pick", parent="A", qty="4", location="A-01")
    has(written[1], source="A", lps=["A"], location="SHIP-1", picked_qty="4")
    has(written[2], part_of=task["number"], qty="4", qty_picked="4", qty_planned="10")
    assert written[2].subject != task["number"]  # the part is a done task of its own
    assert {e.cause for e in written} == {env["id"]}


async def test_orders_new_in_an_order_sync_are_created_once(seeded: Central) -> None:
    events = Events(seeded)
    await events.new()
    page = (order("EXT-1", qty="3"), order("EXT-2"))
    await sync(seeded.client, *page)
    written = await events.new()
    assert [e.type for e in written] == ["order.created", "order.created"]
    has(written[0], external_number="EXT-1", customer="ACME", operator="order sync")
    assert written[0].payload["lines"][0] == {"line": 1, "product": "FG-1", "qty": "3", "uom": "ea"}
    await sync(seeded.client, *page)  # the same page again: nothing new
    assert await events.types() == []

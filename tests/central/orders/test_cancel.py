"""Cancelling an order: from open, released or picking every active reservation of its lines
is given back (picked LPs at staging too) with RELEASE memo rows, open tasks and the lines are
cancelled, and it is audited; from any other status it is ORDER_NOT_CANCELLABLE."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from protocol import AckResult
from tests.central.conftest import Central
from tests.central.orders.helpers import ORDERS, make_order, release, stock

DAY = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()


async def test_cancel_while_picking_gives_everything_back(seeded: Central) -> None:
    await stock(seeded, "A", "10", expiry=DAY)
    order = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "6", "unit_price": "1"}])
    assert (await release(seeded, order["id"])).status_code == 200
    ack = await seeded.send_one(
        seeded.env("pick.confirm", {"task": "PT-000001", "lp": "A", "qty": "2", "new_lp": "C-1"})
    )
    assert ack.result == AckResult.APPLIED, ack.message
    answer = await seeded.client.post(
        f"{ORDERS}/{order['id']}/cancel", json={"reason": "customer called"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["cancel_reason"]) == ("cancelled", "customer called")
    assert body["cancelled_at"] is not None
    assert [line["status"] for line in body["lines"]] == ["cancelled"]
    assert body["lines"][0]["qty_reserved"] == "0"
    assert sorted((t["number"], t["status"]) for t in body["tasks"]) == [
        ("PT-000001", "cancelled"),
        ("PT-000002", "done"),  # the part already picked stays done
    ]
    assert await seeded.rows("SELECT count(*) FROM reservations WHERE status = 'active'") == [(0,)]
    (entry,) = await seeded.rows("SELECT id, target FROM audit_log WHERE action = 'so.cancel'")
    assert entry[1] == order["number"]
    memo = await seeded.rows(
        "SELECT l.number, m.qty, m.reference FROM stock_moves m JOIN license_plates l "
        "ON l.id = m.lp_id WHERE m.kind = 'RELEASE' AND m.action_id = :a ORDER BY l.number",
        a=entry[0],
    )
    assert [(n, Decimal(q) / 10**6, r) for n, q, r in memo] == [
        ("A", Decimal(-4), order["number"]),
        ("C-1", Decimal(-2), order["number"]),
    ]
    # the staged part is free again (it stays where it is)
    staged = await seeded.client.get("/api/v1/inventory/available", params={"location": "SHIP-1"})
    (row,) = staged.json()["items"]
    assert (row["available"], row["reserved"]) == ("2", "0")
    # a pick of a cancelled task is refused
    late = await seeded.send_one(
        seeded.env("pick.confirm", {"task": "PT-000001", "lp": "A", "qty": "1"})
    )
    assert (late.result, late.code) == (AckResult.CONFLICT, "TASK_CANCELLED")
    again = await seeded.client.post(f"{ORDERS}/{order['id']}/cancel", json={"reason": "x"})
    assert (again.status_code, again.json()["code"]) == (409, "ORDER_NOT_CANCELLABLE")
    assert again.json()["details"]["status"] == "cancelled"
    check = (await seeded.client.get("/api/v1/inventory/check")).json()
    assert check["ok"], check["problems"]


async def test_open_orders_cancel_and_picked_ones_do_not(seeded: Central) -> None:
    fresh = await make_order(seeded)
    answer = await seeded.client.post(f"{ORDERS}/{fresh['id']}/cancel", json={"reason": "dup"})
    assert (answer.status_code, answer.json()["status"]) == (200, "cancelled")
    await stock(seeded, "A", "5", expiry=DAY)
    order = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "5", "unit_price": "1"}])
    assert (await release(seeded, order["id"])).status_code == 200
    task = (await seeded.client.get("/api/v1/tasks", params={"order": order["number"]})).json()
    ack = await seeded.send_one(
        seeded.env("pick.confirm", {"task": task["items"][0]["number"], "lp": "A", "qty": "5"})
    )
    assert ack.result == AckResult.APPLIED
    refused = await seeded.client.post(f"{ORDERS}/{order['id']}/cancel", json={"reason": "x"})
    assert (refused.status_code, refused.json()["code"]) == (409, "ORDER_NOT_CANCELLABLE")
    assert refused.json()["details"] == {
        "order": order["number"],
        "status": "picked",
        "allowed": ["open", "released", "picking"],
    }
    empty = await seeded.client.post(f"{ORDERS}/{order['id']}/cancel", json={"reason": ""})
    assert empty.status_code == 422
    missing = await seeded.client.post(f"{ORDERS}/999/cancel", json={"reason": "x"})
    assert missing.status_code == 404

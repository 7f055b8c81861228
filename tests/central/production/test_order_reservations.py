"""Work orders and sales orders share one pool of reservations: a work order release never
takes what an order line reserved, and lp.consume or lp.split of an LP reserved for an order
takes only its free part (LP_RESERVED names the order)."""

from datetime import UTC, datetime, timedelta

from protocol import AckResult
from tests.central.conftest import Central
from tests.central.orders.helpers import make_order, release
from tests.central.production.test_reservations import add_bom, add_wo, receive
from tests.central.production.test_reservations import release as release_wo

DAY = datetime.now(UTC).date() + timedelta(days=5)


async def order_holding_six_of_ten(c: Central) -> str:
    """LP A (10 kg) of which a released sales order holds 6; the order's number."""
    await receive(c, "A", "10", expiry=DAY, location="A-01")
    order = await make_order(c, lines=[{"product": "RAW-1", "qty": "6", "unit_price": "1"}])
    assert (await release(c, order["id"])).status_code == 200
    return str(order["number"])


async def test_a_work_order_release_cannot_take_what_an_order_reserved(seeded: Central) -> None:
    await order_holding_six_of_ten(seeded)
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    greedy = await add_wo(seeded, "WO-5", "5")
    refused = await release_wo(seeded, greedy["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "MATERIAL_SHORT")
    assert refused.json()["details"]["short"][0]["available"] == "4"
    fitting = await add_wo(seeded, "WO-4", "4")
    assert (await release_wo(seeded, fitting["id"])).status_code == 200
    # and the other way: an order release cannot take what the work order now holds
    late = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "1", "unit_price": "1"}])
    short = await release(seeded, late["id"])
    assert (short.status_code, short.json()["code"]) == (409, "ORDER_SHORT")


async def test_consume_and_split_take_only_the_free_part(seeded: Central) -> None:
    number = await order_holding_six_of_ten(seeded)
    env = seeded.env("lp.consume", {"lp": "A", "work_order": "WO-1001", "qty": "5"})
    ack = await seeded.send_one(env)
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "LP_RESERVED")
    assert ack.message == (
        f"LP A holds 10 kg, 6 kg of it reserved for sales order {number}; 4 kg can be "
        "consumed into WO-1001, not 5 kg"
    )
    split = await seeded.send_one(seeded.env("lp.split", {"lp": "A", "qty": "5"}))
    assert (split.result, split.code) == (AckResult.CONFLICT, "LP_RESERVED")
    assert f"reserved for sales order {number}" in (split.message or "")
    ok = await seeded.send_one(
        seeded.env("lp.consume", {"lp": "A", "work_order": "WO-1001", "qty": "4"})
    )
    assert (ok.result, ok.code) == (AckResult.APPLIED, None), ok.message
    reserved = await seeded.rows(
        "SELECT qty, status FROM reservations WHERE order_line_id IS NOT NULL"
    )
    assert reserved == [(6_000_000, "active")]


async def test_a_count_that_shrinks_the_lp_shrinks_the_orders_reservation(seeded: Central) -> None:
    await order_holding_six_of_ten(seeded)
    session = (
        await seeded.client.post("/api/v1/counts", json={"site": "plant-1", "location": "A-01"})
    ).json()
    ack = await seeded.send_one(
        seeded.env(
            "count.record",
            {"session": session["number"], "location": "A-01", "lps": [{"lp": "A", "qty": "4"}]},
        )
    )
    assert ack.result == AckResult.APPLIED, ack.message
    approved = await seeded.client.post(f"/api/v1/counts/{session['id']}/approve")
    assert approved.status_code == 200, approved.text
    # A holds 4 now: the order keeps 4 of its 6, the 2 given back with a memo of the count
    assert await seeded.rows(
        "SELECT qty, status FROM reservations WHERE order_line_id IS NOT NULL"
    ) == [(4_000_000, "active")]
    memo = await seeded.rows(
        "SELECT qty, reference, work_order_id FROM stock_moves WHERE kind = 'RELEASE'"
    )
    assert memo == [(-2_000_000, session["number"], None)]
    check = (await seeded.client.get("/api/v1/inventory/check")).json()
    assert check["ok"], check["problems"]

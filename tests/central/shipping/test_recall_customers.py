"""A recall reaches customers: the genealogy of a lot or an LP also lists every LP it reached
that went onto a shipment, with the order, customer, quantity and dispatch date, and the
customers, once each ("which customers got this lot")."""

from typing import Any

from sqlalchemy import text

from tests.central.conftest import Central
from tests.central.shipping.seed import Line, picked_order
from tests.central.shipping.steps import act, dispatch, loaded, plan

API = "/api/v1"


async def genealogy(central: Central, path: str, **params: Any) -> dict[str, Any]:
    """GET a genealogy; it must answer 200."""
    response = await central.client.get(f"{API}/{path}/genealogy", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_lot_traced_through_production_reaches_its_customers(seeded: Central) -> None:
    await seeded.receive("R-1", "10", lot="L1")
    await act(seeded, "lp.consume", {"lp": "R-1", "work_order": "WO-1001"})
    await act(
        seeded,
        "wo.output",
        {"work_order": "WO-1001", "qty": "20", "location": "SHIP-1", "lp": "F-1", "lot": "FL1"},
    )
    await act(seeded, "lp.split", {"lp": "F-1", "qty": "5", "new_lp": "F-2"})
    acme = await picked_order(seeded, [Line("FG-1", "5", "1", [("F-2", "5", None)])])
    beta = await picked_order(
        seeded, [Line("FG-1", "15", "1", [("F-1", "15", None)])], customer="BETA"
    )
    other = await picked_order(
        seeded, [Line("FG-1", "1", "1", [("Z-1", "1", "ZZ")])], customer="GAMMA"
    )
    await seeded.receive("PAL-1", "1", item="FG-1", uom="ea", location="SHIP-1")
    await act(seeded, "lp.pack", {"lp": "F-2", "parent": "PAL-1"})
    first = await plan(seeded, acme.id)
    await loaded(seeded, first["number"], "PAL-1")
    gone = (await dispatch(seeded, first["id"])).json()["shipment"]
    second = await plan(seeded, beta.id)
    await loaded(seeded, second["number"], "F-1")  # still at the dock: a recall can stop it
    third = await plan(seeded, other.id)
    await loaded(seeded, third["number"], "Z-1")
    assert (await dispatch(seeded, third["id"])).status_code == 200

    body = await genealogy(seeded, "lots/L1", item="RAW-1")
    shipped_to = body["shipped_to"]
    assert [
        (d["lp"], d["shipment"], d["shipment_status"], d["order"], d["customer"], d["qty"])
        for d in shipped_to["deliveries"]
    ] == [
        ("F-2", first["number"], "dispatched", acme.number, "ACME", "5"),
        ("PAL-1", first["number"], "dispatched", None, None, "1"),
        ("F-1", second["number"], "loading", beta.number, "BETA", "15"),
    ]
    f2 = shipped_to["deliveries"][0]
    assert f2["dispatched_at"] == gone["dispatched_at"] and f2["qty_shipped"] == "5"
    assert shipped_to["deliveries"][2]["dispatched_at"] is None
    assert shipped_to["customers"] == [
        {
            "site": "plant-1",
            "customer": "ACME",
            "name": "ACME",
            "shipments": [first["number"]],
            "lps": ["F-2", "PAL-1"],
        },
        {
            "site": "plant-1",
            "customer": "BETA",
            "name": "BETA",
            "shipments": [second["number"]],
            "lps": ["F-1"],
        },
    ]
    # From one LP: only what went down from it.
    from_f2 = (await genealogy(seeded, "license-plates/F-2"))["shipped_to"]
    assert [c["customer"] for c in from_f2["customers"]] == ["ACME"]
    # Up from a shipped LP reaches its inputs, none of which shipped.
    up = (await genealogy(seeded, "license-plates/R-1", direction="up"))["shipped_to"]
    assert up == {"deliveries": [], "customers": []}


async def test_a_cancelled_shipment_reaches_no_one(seeded: Central) -> None:
    order = await picked_order(seeded, [Line("FG-1", "2", "1", [("C-1", "2", "L5")])])
    sh = await plan(seeded, order.id)
    await loaded(seeded, sh["number"], "C-1")
    before = (await genealogy(seeded, "lots/L5"))["shipped_to"]
    assert [c["customer"] for c in before["customers"]] == ["ACME"]
    async with seeded.engine.begin() as conn:  # what a cancel of the shipment leaves
        await conn.execute(text("UPDATE shipments SET status = 'cancelled'"))
    after = (await genealogy(seeded, "lots/L5"))["shipped_to"]
    assert after == {"deliveries": [], "customers": []}

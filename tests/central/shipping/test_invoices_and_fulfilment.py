"""GET /invoices (filters, pages, one by number) and GET /orders/{id}/fulfilment (per line, the
LPs that shipped with lot, expiry, quantity, shipment and dispatch date; totals)."""

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select

from central.db.tables import invoices
from tests.central.conftest import SITE, Central
from tests.central.shipping.seed import Line, SeededOrder, picked_order
from tests.central.shipping.steps import dispatch, loaded, plan

INVOICES = "/api/v1/invoices"


async def shipped(central: Central, order: SeededOrder, *lps: str, **body: Any) -> dict[str, Any]:
    """Plan a shipment for the order, load these LPs and dispatch it; the dispatch's answer."""
    sh = await plan(central, order.id)
    for lp in lps:
        await loaded(central, sh["number"], lp)
    answer = await dispatch(central, sh["id"], **body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_invoices_are_listed_with_filters_and_shown_by_number(seeded: Central) -> None:
    a = await picked_order(seeded, [Line("FG-1", "3", "1.5", [("C-1", "3", None)])])
    b = await picked_order(
        seeded, [Line("FG-1", "2", "0.333333", [("C-2", "2", None)])], customer="BETA"
    )
    await shipped(seeded, a, "C-1")
    await shipped(seeded, b, "C-2")
    c = seeded.client

    async def numbers(**params: Any) -> list[str]:
        response = await c.get(INVOICES, params=params)
        assert response.status_code == 200, response.text
        return [i["number"] for i in response.json()["items"]]

    assert await numbers() == ["INV-000002", "INV-000001"]
    assert await numbers(order=a.id) == ["INV-000001"]
    assert await numbers(customer="BETA") == ["INV-000002"]
    assert await numbers(limit=1, offset=1) == ["INV-000001"]
    assert await numbers(site="plant-2") == []
    issued = (await c.get(f"{INVOICES}/INV-000002")).json()["issued_at"]
    at = datetime.fromisoformat(issued)
    assert await numbers(issued_after=at.isoformat()) == ["INV-000002"]
    assert await numbers(issued_before=at.isoformat()) == ["INV-000001"]
    later = (at + timedelta(seconds=1)).isoformat()
    assert await numbers(issued_after=later) == []
    one = (await c.get(f"{INVOICES}/INV-000002")).json()
    assert (one["order"], one["customer"], one["total"]) == (b.number, "BETA", "0.666666")
    assert one["lines"] == [
        {
            "line": 1,
            "product": "FG-1",
            "qty": "2",
            "uom": "ea",
            "unit_price": "0.333333",
            "amount": "0.666666",
        }
    ]
    missing = await c.get(f"{INVOICES}/INV-999999")
    assert missing.status_code == 404 and missing.json()["code"] == "INVOICE_NOT_FOUND"


async def test_an_invoice_number_at_two_sites_must_be_told_apart(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    a = await picked_order(seeded, [Line("FG-1", "3", "1", [("C-1", "3", None)])])
    await shipped(seeded, a, "C-1")
    async with seeded.engine.begin() as conn:  # an invoice of plant-2 under the same number
        row = (await conn.execute(select(invoices))).one()
        await conn.execute(
            insert(invoices).values(
                **{k: v for k, v in row._mapping.items() if k not in ("id", "site")},
                site="plant-2",
            )
        )
    both = await seeded.client.get(f"{INVOICES}/INV-000001")
    assert both.status_code == 409 and both.json()["code"] == "INVOICE_AMBIGUOUS"
    assert both.json()["details"]["sites"] == [SITE, "plant-2"]
    mine = await seeded.client.get(f"{INVOICES}/INV-000001", params={"site": SITE})
    assert mine.status_code == 200 and mine.json()["site"] == SITE
    reader = await seeded.bearer("reader", ["warehouse"], [SITE])
    seen = await guarded.get(f"{INVOICES}/INV-000001", headers=reader)
    assert seen.status_code == 200 and seen.json()["site"] == SITE  # plant-2's is not theirs
    listed = await guarded.get(INVOICES, headers=reader)
    assert [i["site"] for i in listed.json()["items"]] == [SITE]


async def test_fulfilment_shows_each_lp_shipped_per_line(seeded: Central) -> None:
    order = await picked_order(
        seeded,
        [
            Line("FG-1", "5", "2", [("C-1", "3", "L1"), ("C-2", "2", "L2")]),
            Line("RAW-1", "4", "1.25", [("R-1", "4", "L9")]),
        ],
    )
    first = await shipped(seeded, order, "C-1", "R-1", short_ship_reason="the rest tomorrow")
    answer = await seeded.client.get(f"/api/v1/orders/{order.id}/fulfilment")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["order"], body["customer"], body["status"], body["invoice_status"]) == (
        order.number,
        "ACME",
        "invoiced",
        "invoiced",
    )
    line1, line2 = body["lines"]
    assert (line1["qty"], line1["qty_shipped"], line1["qty_invoiced"], line1["qty_open"]) == (
        "5",
        "3",
        "3",
        "2",
    )
    (c1,) = line1["shipped"]
    expiry = (await seeded.client.get("/api/v1/license-plates/C-1")).json()[
        "expiry"
    ]  # as the receipt dated it
    assert c1 == {
        "lp": "C-1",
        "lot": "L1",
        "expiry": expiry,
        "qty": "3",
        "shipment": first["shipment"]["number"],
        "dispatched_at": first["shipment"]["dispatched_at"],
    }
    assert [lp["lp"] for lp in line2["shipped"]] == ["R-1"] and line2["qty_open"] == "0"
    assert (body["qty_ordered"], body["qty_shipped"], body["qty_invoiced"]) == ("9", "7", "7")
    assert body["amount_invoiced"] == "11"  # 3 x 2 + 4 x 1.25
    assert body["shipments"] == [first["shipment"]["number"]]
    assert body["invoices"] == ["INV-000001"]
    missing = await seeded.client.get("/api/v1/orders/999/fulfilment")
    assert missing.status_code == 404 and missing.json()["code"] == "ORDER_NOT_FOUND"


async def test_fulfilment_of_an_order_not_shipped_yet(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    order = await picked_order(seeded, [Line("FG-1", "2", "1", [("C-1", "2", None)])])
    sh = await plan(seeded, order.id)
    await loaded(seeded, sh["number"], "C-1")  # loaded, not dispatched: nothing has shipped
    body = (await seeded.client.get(f"/api/v1/orders/{order.id}/fulfilment")).json()
    assert body["lines"][0]["shipped"] == [] and body["qty_shipped"] == "0"
    assert body["shipments"] == [] and body["invoices"] == []
    stranger = await seeded.bearer("reader-2", ["planning"], ["plant-2"])
    hidden = await guarded.get(f"/api/v1/orders/{order.id}/fulfilment", headers=stranger)
    assert hidden.status_code == 404 and hidden.json()["code"] == "ORDER_NOT_FOUND"

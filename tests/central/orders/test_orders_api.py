"""/orders: created with lines in the products' units (customers on first use, numbers from
the sequence), listed with filters and pages, shown with lines, tasks and shipments; bad
orders refused with clear codes; planning writes, every caller reads its own sites only."""

from datetime import UTC, datetime

import httpx
from sqlalchemy import insert, update

from central.db.tables import sales_orders, shipment_orders, shipments
from central.orders.stats import recompute_order_stats
from tests.central.conftest import SITE, Central
from tests.central.orders.helpers import ORDERS, make_order, order_body


async def test_create_and_show(seeded: Central) -> None:
    made = await make_order(
        seeded,
        customer="ACME",
        customer_name="Acme Foods",
        customer_ref="PO-77",
        due_date="2026-12-10",
        route="NORTH",
        lines=[
            {"product": "RAW-1", "qty": "10", "unit_price": "2.5", "due_date": "2026-12-09"},
            {"product": "FG-1", "qty": "4", "uom": "ea", "unit_price": "0"},
        ],
    )
    assert made["number"] == "SO-000001"
    assert (made["status"], made["invoice_status"], made["excluded"]) == ("open", "none", False)
    assert (made["customer"], made["customer_name"], made["customer_ref"], made["route"]) == (
        "ACME",
        "Acme Foods",
        "PO-77",
        "NORTH",
    )
    assert made["lines"][0] == {
        "line": 1,
        "product": "RAW-1",
        "uom": "kg",
        "qty": "10",
        "unit_price": "2.5",
        "due_date": "2026-12-09",
        "status": "open",
        "qty_reserved": "0",
        "qty_short": "0",
        "qty_picked": "0",
        "qty_shipped": "0",
        "qty_invoiced": "0",
    }
    assert (made["lines"][1]["line"], made["lines"][1]["uom"]) == (2, "ea")
    # A second order of the customer under another name keeps the first name.
    again = await make_order(seeded, customer="ACME", customer_name="Renamed", number="X-1")
    assert (again["number"], again["customer_name"]) == ("X-1", "Acme Foods")
    assert await seeded.rows("SELECT code, name FROM customers") == [("ACME", "Acme Foods")]
    shown = (await seeded.client.get(f"{ORDERS}/{made['id']}")).json()
    assert (shown["tasks"], shown["shipments"]) == ([], [])
    assert shown["lines"] == made["lines"]
    audit = await seeded.rows("SELECT action, target FROM audit_log WHERE action LIKE 'so.%'")
    assert audit == [("so.create", "SO-000001"), ("so.create", "X-1")]


async def test_bad_orders_are_refused_and_write_nothing(seeded: Central) -> None:
    c = seeded.client
    await make_order(seeded, number="SO-1")
    cases = [
        (order_body(number="SO-1"), 409, "ALREADY_EXISTS"),
        (
            order_body(lines=[{"product": "NOPE", "qty": "1", "unit_price": "1"}]),
            422,
            "INVALID_REFERENCE",
        ),
        (
            order_body(lines=[{"product": "RAW-1", "qty": "1", "uom": "ea", "unit_price": "1"}]),
            422,
            "UOM_MISMATCH",
        ),
        (
            order_body(lines=[{"product": "RAW-1", "qty": "0", "unit_price": "1"}]),
            422,
            "VALIDATION_ERROR",
        ),
        (
            order_body(lines=[{"product": "RAW-1", "qty": "-1", "unit_price": "1"}]),
            422,
            "VALIDATION_ERROR",
        ),
        (
            order_body(lines=[{"product": "RAW-1", "qty": "1", "unit_price": "-0.01"}]),
            422,
            "VALIDATION_ERROR",
        ),
        (order_body(lines=[]), 422, "VALIDATION_ERROR"),
    ]
    for body, status, code in cases:
        answer = await c.post(ORDERS, json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), body
    unknown = await c.post(
        ORDERS, json=order_body(lines=[{"product": "NOPE", "qty": "1", "unit_price": "1"}])
    )
    assert unknown.json()["details"]["products"] == ["NOPE"]
    wrong = await c.post(
        ORDERS,
        json=order_body(lines=[{"product": "RAW-1", "qty": "1", "uom": "ea", "unit_price": "1"}]),
    )
    assert wrong.json()["details"] == {"product": "RAW-1", "uom": "kg", "given": "ea"}
    assert await seeded.count("sales_orders") == 1
    assert await seeded.count("sales_order_lines") == 1
    assert (await c.get(f"{ORDERS}/999")).json()["code"] == "NOT_FOUND"


async def test_list_filters_search_and_pages(seeded: Central) -> None:
    c = seeded.client
    a = await make_order(seeded, customer="ACME", customer_name="Acme Foods", due_date="2026-12-01")
    b = await make_order(seeded, customer="BETA", customer_ref="REF_9", due_date="2026-12-05")
    d = await make_order(seeded, customer="BETA", number="EXT-3", due_date="2026-12-09")
    await c.post(f"{ORDERS}/{d['id']}/cancel", json={"reason": "customer called"})
    at = datetime(2026, 12, 1, tzinfo=UTC)
    async with seeded.engine.begin() as conn:
        await conn.execute(
            update(sales_orders)
            .where(sales_orders.c.id == b["id"])
            .values(external_number="ERP-4711")
        )
        shipment = await conn.execute(
            insert(shipments)
            .values(site=SITE, number="SH-9", status="loading", created_at=at, updated_at=at)
            .returning(shipments.c.id)
        )
        await conn.execute(
            insert(shipment_orders).values(shipment_id=shipment.scalar_one(), order_id=a["id"])
        )
        await recompute_order_stats(conn, [a["id"]])
        hidden = await conn.execute(
            insert(sales_orders)
            .values(
                site=SITE,
                number="SO-HIDDEN",
                customer_id=1,
                status="open",
                invoice_status="none",
                excluded=True,
                shipment_count=0,
                po_count=0,
                created_at=at,
                updated_at=at,
            )
            .returning(sales_orders.c.id)
        )
        hidden_id = hidden.scalar_one()

    async def numbers(**params: object) -> list[str]:
        answer = await c.get(ORDERS, params=params)
        assert answer.status_code == 200, answer.text
        return [o["number"] for o in answer.json()["items"]]

    everything = [d["number"], b["number"], a["number"]]
    assert await numbers() == everything
    assert await numbers(include_excluded=True) == ["SO-HIDDEN", *everything]
    assert await numbers(status="cancelled") == ["EXT-3"]
    assert await numbers(customer="BETA") == ["EXT-3", b["number"]]
    assert await numbers(due_before="2026-12-05") == [b["number"], a["number"]]
    assert await numbers(due_after="2026-12-05") == ["EXT-3", b["number"]]
    assert await numbers(due_after="2026-12-02", due_before="2026-12-08") == [b["number"]]
    assert await numbers(has_shipments=True) == [a["number"]]
    assert await numbers(has_shipments=False) == ["EXT-3", b["number"]]
    assert await numbers(shipment_status="loading") == [a["number"]]
    assert await numbers(search="acme foods") == [a["number"]]  # customer name
    assert await numbers(search="beta") == ["EXT-3", b["number"]]  # customer code
    assert await numbers(search="ref_9") == [b["number"]]  # customer's reference
    assert await numbers(search="4711") == [b["number"]]  # external number
    assert await numbers(search="ext-") == ["EXT-3"]  # number
    assert await numbers(search="_") == [b["number"]]  # a literal, not a wildcard
    assert await numbers(limit=1, offset=1) == [b["number"]]
    shown = (await c.get(f"{ORDERS}/{a['id']}")).json()
    assert shown["shipments"] == [{"number": "SH-9", "status": "loading"}]
    assert (shown["shipment_count"], shown["latest_shipment_status"]) == (1, "loading")
    assert (await c.get(f"{ORDERS}/{hidden_id}")).json()["excluded"] is True


async def test_roles_and_sites(seeded: Central, guarded: httpx.AsyncClient) -> None:
    made = await make_order(seeded)
    reader = await seeded.bearer("reader", ["warehouse"], [SITE])
    planner = await seeded.bearer("planner", ["planning"], [SITE])
    stranger = await seeded.bearer("stranger", ["planning"], ["plant-2"])
    refused = await guarded.post(ORDERS, json=order_body(), headers=reader)
    assert (refused.status_code, refused.json()["code"]) == (403, "ROLE_REQUIRED")
    made_by_planner = await guarded.post(ORDERS, json=order_body(), headers=planner)
    assert made_by_planner.status_code == 201
    other_site = await guarded.post(ORDERS, json=order_body(site=SITE), headers=stranger)
    assert (other_site.status_code, other_site.json()["code"]) == (403, "SITE_FORBIDDEN")
    listed = await guarded.get(ORDERS, headers=reader)
    assert len(listed.json()["items"]) == 2
    assert (await guarded.get(ORDERS, headers=stranger)).json()["items"] == []
    hidden = await guarded.get(f"{ORDERS}/{made['id']}", headers=stranger)
    assert hidden.status_code == 404
    cancel = await guarded.post(
        f"{ORDERS}/{made['id']}/cancel", json={"reason": "x"}, headers=stranger
    )
    assert cancel.status_code == 404
    actor = await seeded.rows("SELECT actor FROM audit_log WHERE action = 'so.create'")
    assert ("planner",) in actor

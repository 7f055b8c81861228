"""/shipments: planned from released orders (under both paths), listed with filters and pages,
shown with planned, loaded and missing LPs; planning writes, every caller reads its own sites
only, and planning is audited."""

from typing import Any

import httpx

from tests.central.conftest import SITE, Central
from tests.central.shipping.seed import Line, picked_order

API = "/api/v1/shipments"


def plan(*orders: int, **extra: Any) -> dict[str, Any]:
    """A shipment body for these orders at the seeded site."""
    return {"site": SITE, "orders": list(orders), **extra}


async def test_plan_a_shipment_from_picked_orders(seeded: Central) -> None:
    a = await picked_order(
        seeded, [Line("FG-1", "5", "2.5", [("C-1", "3", "L1"), ("C-2", "2", "L1")])]
    )
    b = await picked_order(seeded, [Line("FG-1", "4", "3", [("C-3", "4", None)])], customer="BETA")
    made = await seeded.client.post(
        API, json=plan(a.id, b.id, carrier="DHL", tracking_number="1Z9", planned_date="2026-12-03")
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["number"] == "SH-000001" and body["status"] == "planned"
    assert (body["carrier"], body["tracking_number"], body["planned_date"]) == (
        "DHL",
        "1Z9",
        "2026-12-03",
    )
    assert [(o["number"], o["customer"], o["status"]) for o in body["orders"]] == [
        (a.number, "ACME", "picked"),
        (b.number, "BETA", "picked"),
    ]
    assert [
        (lp["lp"], lp["order"], lp["line"], lp["qty"], lp["location"]) for lp in body["planned"]
    ] == [
        ("C-1", a.number, 1, "3", "SHIP-1"),
        ("C-2", a.number, 1, "2", "SHIP-1"),
        ("C-3", b.number, 1, "4", "SHIP-1"),
    ]
    assert body["loaded"] == [] and body["missing"] == body["planned"]
    # The link is made once per order, and the orders' kept stats follow it.
    assert await seeded.rows(
        "SELECT number, shipment_count, latest_shipment_status FROM sales_orders ORDER BY id"
    ) == [(a.number, 1, "planned"), (b.number, 1, "planned")]
    assert await seeded.rows(
        "SELECT action, target FROM audit_log WHERE action LIKE 'shipment.%'"
    ) == [("shipment.plan", "SH-000001")]
    again = await seeded.client.post(f"{API}/plan", json=plan(a.id))  # the design's name
    assert again.status_code == 201 and again.json()["number"] == "SH-000002", again.text


async def test_only_released_orders_of_the_site_can_be_planned(seeded: Central) -> None:
    fresh = await picked_order(seeded, [Line("FG-1", "1", "1")], status="open")
    ready = await picked_order(seeded, [Line("FG-1", "1", "1", [("C-1", "1", None)])])
    refused = await seeded.client.post(API, json=plan(ready.id, fresh.id))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "ORDER_NOT_RELEASED"
    assert refused.json()["details"]["orders"] == [
        {"id": fresh.id, "number": fresh.number, "status": "open"}
    ]
    assert fresh.number in refused.json()["message"] and "open" in refused.json()["message"]
    unknown = await seeded.client.post(API, json=plan(ready.id, 999))
    assert unknown.status_code == 422 and unknown.json()["details"]["orders"] == [999]
    elsewhere = await seeded.client.post(API, json={**plan(ready.id), "site": "plant-2"})
    assert elsewhere.status_code == 422  # the order is plant-1's
    assert await seeded.count("shipments") == 0
    empty = await seeded.client.post(API, json=plan())
    assert empty.status_code == 422


async def test_list_with_filters_and_pages(seeded: Central) -> None:
    a = await picked_order(seeded, [Line("FG-1", "1", "1", [("C-1", "1", None)])])
    b = await picked_order(seeded, [Line("FG-1", "1", "1", [("C-2", "1", None)])])
    c = seeded.client
    for body in (plan(a.id, carrier="DHL"), plan(b.id, carrier="UPS"), plan(a.id, b.id)):
        assert (await c.post(API, json=body)).status_code == 201

    async def numbers(**params: Any) -> list[str]:
        response = await c.get(API, params=params)
        assert response.status_code == 200, response.text
        return [s["number"] for s in response.json()["items"]]

    assert await numbers() == ["SH-000003", "SH-000002", "SH-000001"]
    assert await numbers(carrier="DHL") == ["SH-000001"]
    assert await numbers(order=b.id) == ["SH-000003", "SH-000002"]
    assert await numbers(status="planned", limit=1, offset=1) == ["SH-000002"]
    assert await numbers(status="dispatched") == []
    assert await numbers(site="plant-2") == []
    listed = (await c.get(API, params={"order": a.id})).json()["items"][0]
    assert [o["number"] for o in listed["orders"]] == [a.number, b.number]
    assert listed["loaded_count"] == 0 and "planned" not in listed
    assert (await c.get(API, params={"status": "lost"})).status_code == 422


async def test_show_one_by_id(seeded: Central) -> None:
    a = await picked_order(seeded, [Line("FG-1", "1", "1", [("C-1", "1", None)])])
    made = (await seeded.client.post(API, json=plan(a.id))).json()
    shown = await seeded.client.get(f"{API}/{made['id']}")
    assert shown.status_code == 200 and shown.json() == made
    missing = await seeded.client.get(f"{API}/999")
    assert missing.status_code == 404 and missing.json()["code"] == "SHIPMENT_NOT_FOUND"
    not_an_id = await seeded.client.get(f"{API}/SH-000001")
    assert not_an_id.status_code == 422 and not_an_id.json()["code"] == "VALIDATION_ERROR"
    huge = [f"{API}/{2**31}", f"{API}/{2**70}/dispatch", f"/api/v1/orders/{2**40}/fulfilment"]
    for path in huge:  # no id column holds them: refused before any query
        method = seeded.client.post if path.endswith("dispatch") else seeded.client.get
        answer = await method(path)
        assert answer.status_code == 422, (path, answer.text)
    huge_order = await seeded.client.post(API, json=plan(a.id, 2**40))
    assert huge_order.status_code == 422, huge_order.text


async def test_roles_and_sites(seeded: Central, guarded: httpx.AsyncClient) -> None:
    a = await picked_order(seeded, [Line("FG-1", "1", "1", [("C-1", "1", None)])])
    planner = await seeded.bearer("planner", ["planning"], [SITE])
    dock = await seeded.bearer("dock", ["warehouse"], [SITE])
    stranger = await seeded.bearer("planner-2", ["planning"], ["plant-2"])
    refused = await guarded.post(API, json=plan(a.id), headers=dock)
    assert refused.status_code == 403 and refused.json()["code"] == "ROLE_REQUIRED"
    forbidden = await guarded.post(API, json=plan(a.id), headers=stranger)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "SITE_FORBIDDEN"
    made = await guarded.post(API, json=plan(a.id), headers=planner)
    assert made.status_code == 201, made.text
    shipment = made.json()["id"]
    assert (await guarded.get(f"{API}/{shipment}", headers=dock)).status_code == 200
    hidden = await guarded.get(f"{API}/{shipment}", headers=stranger)
    assert hidden.status_code == 404 and hidden.json()["code"] == "SHIPMENT_NOT_FOUND"
    assert (await guarded.get(API, headers=stranger)).json()["items"] == []
    assert (await guarded.get(API)).status_code == 401

"""/purchase-orders: created with lines in the products' units, listed with filters and
pages, shown by number, closed / reopened / cancelled; planning writes, every caller reads its
own sites only, and every change is audited."""

from typing import Any

import httpx

from central.access.callers import OPEN_CALLER
from central.catalog.products import create_product
from tests.central.conftest import SITE, Central

API = "/api/v1/purchase-orders"


def po(number: str, supplier: str = "Mill & Co", site: str = SITE, **extra: Any) -> dict:
    """A purchase order body: 50 kg of RAW-1 and 10 ea of FG-1 unless told."""
    lines = extra.pop(
        "lines", [{"product": "RAW-1", "qty": "50"}, {"product": "FG-1", "qty": "10"}]
    )
    return {"site": site, "number": number, "supplier": supplier, "lines": lines, **extra}


async def test_create_show_and_list_with_filters(seeded: Central) -> None:
    c = seeded.client
    made = await c.post(API, json=po("PO-1", expected_date="2026-12-05"))
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["status"], body["expected_date"], body["supplier"]) == (
        "open",
        "2026-12-05",
        "Mill & Co",
    )
    assert body["lines"] == [
        {
            "line": 1,
            "product": "RAW-1",
            "uom": "kg",
            "qty_ordered": "50",
            "qty_received": "0",
            "qty_open": "50",
        },
        {
            "line": 2,
            "product": "FG-1",
            "uom": "ea",
            "qty_ordered": "10",
            "qty_received": "0",
            "qty_open": "10",
        },
    ]
    numbered = [{"line": 10, "product": "RAW-1", "qty": "1", "uom": "kg"}]
    assert (await c.post(API, json=po("PO-2", "Salt Ltd", lines=numbered))).status_code == 201
    assert (await c.post(API, json=po("XY-3", "Salt Ltd"))).status_code == 201
    await c.post(f"{API}/XY-3/close")

    def numbers(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [o["number"] for o in response.json()["items"]]

    assert numbers(await c.get(API)) == ["XY-3", "PO-2", "PO-1"]
    assert numbers(await c.get(API, params={"status": "open"})) == ["PO-2", "PO-1"]
    assert numbers(await c.get(API, params={"supplier": "Salt Ltd"})) == ["XY-3", "PO-2"]
    assert numbers(await c.get(API, params={"search": "po-"})) == ["PO-2", "PO-1"]
    assert numbers(await c.get(API, params={"search": "mill"})) == ["PO-1"]
    assert numbers(await c.get(API, params={"search": "%"})) == []  # a literal, not a pattern
    assert numbers(await c.get(API, params={"limit": 1, "offset": 1})) == ["PO-2"]
    assert numbers(await c.get(API, params={"site": SITE, "status": "closed"})) == ["XY-3"]
    shown = (await c.get(f"{API}/PO-2", params={"site": SITE})).json()
    assert [(x["line"], x["qty_ordered"]) for x in shown["lines"]] == [(10, "1")]
    assert (await c.get(f"{API}/PO-404")).status_code == 404
    audit = await seeded.rows("SELECT action, target, site FROM audit_log ORDER BY at, id")
    assert [a for a in audit if a[0].startswith("po.")] == [
        ("po.create", "PO-1", SITE),
        ("po.create", "PO-2", SITE),
        ("po.create", "XY-3", SITE),
        ("po.close", "XY-3", SITE),
    ]


async def test_bad_orders_are_refused_and_write_nothing(seeded: Central) -> None:
    c = seeded.client
    assert (await c.post(API, json=po("PO-1"))).status_code == 201
    again = await c.post(API, json=po("PO-1"))
    assert (again.status_code, again.json()["code"]) == (409, "ALREADY_EXISTS")
    unknown = await c.post(API, json=po("PO-2", lines=[{"product": "NOPE", "qty": "1"}]))
    assert unknown.status_code in (404, 422) and unknown.json()["details"]["products"] == ["NOPE"]
    wrong = await c.post(
        API, json=po("PO-3", lines=[{"product": "RAW-1", "qty": "1", "uom": "ea"}])
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "UOM_MISMATCH")
    assert "order it in kg" in wrong.json()["message"]
    for lines in ([], [{"product": "RAW-1", "qty": "0"}]):
        assert (await c.post(API, json=po("PO-4", lines=lines))).status_code == 422
    twice = [
        {"line": 1, "product": "RAW-1", "qty": "1"},
        {"line": 1, "product": "FG-1", "qty": "1"},
    ]
    assert (await c.post(API, json=po("PO-5", lines=twice))).status_code == 422
    assert await seeded.count("purchase_orders") == 1
    assert await seeded.count("purchase_order_lines") == 2


async def test_status_steps(seeded: Central) -> None:
    c = seeded.client
    await c.post(API, json=po("PO-1"))
    assert (await c.post(f"{API}/PO-1/reopen")).json()["code"] == "PO_BAD_TRANSITION"
    assert (await c.post(f"{API}/PO-1/close")).json()["status"] == "closed"
    assert (await c.post(f"{API}/PO-1/reopen")).json()["status"] == "open"
    assert (await c.post(f"{API}/PO-1/cancel")).json()["status"] == "cancelled"
    refused = await c.post(f"{API}/PO-1/close")
    assert refused.status_code == 409
    assert refused.json()["details"] == {
        "number": "PO-1",
        "status": "cancelled",
        "target": "closed",
    }


async def test_roles_and_sites(seeded: Central, guarded: httpx.AsyncClient) -> None:
    async with seeded.engine.begin() as conn:
        await create_product(
            conn, site="plant-2", code="RAW-1", name="RAW-1", uom="kg", caller=OPEN_CALLER
        )
    planning = await seeded.bearer("planner", ["planning"], [SITE])
    warehouse = await seeded.bearer("dock", ["warehouse"], [SITE])
    other = await seeded.bearer("planner-2", ["planning"], ["plant-2"])
    both = await seeded.bearer("reader", ["warehouse"], [SITE, "plant-2"])
    refused = await guarded.post(API, json=po("PO-1"), headers=warehouse)
    assert refused.status_code == 403
    assert (await guarded.post(API, json=po("PO-1"), headers=planning)).status_code == 201
    elsewhere = await guarded.post(API, json=po("PO-1"), headers=other)  # plant-1: not theirs
    assert elsewhere.status_code == 403
    plant2 = po("PO-1", site="plant-2", lines=[{"product": "RAW-1", "qty": "5"}])
    assert (await guarded.post(API, json=plant2, headers=other)).status_code == 201
    # Each planner sees only their own plant's PO-1; the other is "does not exist".
    mine = (await guarded.get(f"{API}/PO-1", headers=planning)).json()
    assert mine["site"] == SITE
    assert (await guarded.get(f"{API}/PO-1?site=plant-2", headers=planning)).status_code == 404
    listed = (await guarded.get(API, headers=other)).json()["items"]
    assert [o["site"] for o in listed] == ["plant-2"]
    assert (await guarded.post(f"{API}/PO-1/close", headers=warehouse)).status_code == 403
    assert (await guarded.post(f"{API}/PO-1/close", headers=other)).json()["site"] == "plant-2"
    # A reader of both plants names the one meant.
    ambiguous = await guarded.get(f"{API}/PO-1", headers=both)
    assert (ambiguous.status_code, ambiguous.json()["code"]) == (409, "PO_AMBIGUOUS")
    shown = await guarded.get(f"{API}/PO-1?site=plant-2", headers=both)
    assert shown.json()["status"] == "closed"
    audit = await seeded.rows("SELECT actor, action, site FROM audit_log WHERE target = 'PO-1'")
    assert sorted(audit) == [
        ("planner", "po.create", SITE),
        ("planner-2", "po.close", "plant-2"),
        ("planner-2", "po.create", "plant-2"),
    ]

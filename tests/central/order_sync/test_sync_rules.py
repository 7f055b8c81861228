"""POST /orders/sync: orders upserted by external number, POs by number, each approval
status taken in or kept out, a re-sync never duplicating or rewriting, released orders'
lines locked, bad orders reported without stopping the page."""

import logging
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, text

from central.db.tables import products, sales_order_lines
from tests.central.conftest import SITE, Central
from tests.central.order_sync.pages import order, sync


async def lines_of(central: Central) -> list[tuple[object, ...]]:
    """(line, product, qty, uom, unit price, status) of every order line, read with the
    tables' types (quantities as Decimals)."""
    query = (
        select(
            sales_order_lines.c.line,
            products.c.code,
            sales_order_lines.c.qty,
            sales_order_lines.c.uom,
            sales_order_lines.c.unit_price,
            sales_order_lines.c.status,
        )
        .join(products, products.c.id == sales_order_lines.c.product_id)
        .order_by(sales_order_lines.c.order_id, sales_order_lines.c.line)
    )
    async with central.engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(query)]


async def orders_of(central: Central) -> list[tuple[object, ...]]:
    """(external number, SO number, status, approval, excluded, po_count) of every order."""
    return await central.rows(
        "SELECT external_number, number, status, approval_status, excluded, po_count "
        "FROM sales_orders ORDER BY external_number"
    )


async def test_an_approved_order_appears_with_lines_pos_and_customer(seeded: Central) -> None:
    report = await sync(
        seeded.client, order("EXT-1", pos=("PO-164", "po 165"), customer_name="Acme Foods")
    )
    assert (report["created"], report["pos_created"], report["errors"]) == (1, 2, [])
    assert await orders_of(seeded) == [("EXT-1", "SO-000001", "open", "approved", False, 2)]
    assert await lines_of(seeded) == [(1, "FG-1", Decimal(5), "ea", Decimal("2.5"), "open")]
    pos = await seeded.rows(
        "SELECT p.number, p.normalized_number, p.supplier, p.status, s.external_number "
        "FROM purchase_orders p JOIN sales_orders s ON s.id = p.order_id ORDER BY p.number"
    )
    assert pos == [
        ("PO-164", "PO164", "Mill & Co", "open", "EXT-1"),
        ("po 165", "PO165", "Mill & Co", "open", "EXT-1"),
    ]
    assert await seeded.rows("SELECT code, name FROM customers") == [("ACME", "Acme Foods")]
    # No shipment yet: the order is there all the same, with no shipment counted.
    assert await seeded.rows("SELECT shipment_count, latest_shipment_status FROM sales_orders") == [
        (0, None)
    ]


@pytest.mark.parametrize("status", ["pending_approval", "pending_prepayment", "rejected"])
async def test_an_order_in_an_excluding_status_is_not_taken_in(
    seeded: Central, status: str
) -> None:
    report = await sync(seeded.client, order("EXT-1", approval=status, pos=("PO-1",)))
    assert (report["created"], report["excluded"]) == (0, 1)
    assert await seeded.count("sales_orders") == 0
    assert await seeded.count("purchase_orders") == 0


async def test_approval_status_compares_without_case_or_spaces(seeded: Central) -> None:
    report = await sync(
        seeded.client, order("EXT-1", approval=" Approved "), order("EXT-2", approval="REJECTED")
    )
    assert (report["created"], report["excluded"], report["investigate"]) == (1, 1, [])


async def test_an_unknown_status_is_taken_in_and_listed_for_investigation(
    seeded: Central, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="central.order_sync"):
        report = await sync(seeded.client, order("EXT-1", approval="credit_check"))
    assert report["created"] == 1
    assert report["investigate"] == [{"number": "EXT-1", "approval_status": "credit_check"}]
    assert "credit_check" in caplog.text and "investigate" in caplog.text
    assert await orders_of(seeded) == [("EXT-1", "SO-000001", "open", "credit_check", False, 0)]


@pytest.mark.parametrize("status", ["pending_approval", "pending_prepayment", "rejected"])
async def test_an_order_moving_to_an_excluding_status_is_marked_not_deleted(
    seeded: Central, status: str
) -> None:
    await sync(seeded.client, order("EXT-1", pos=("PO-1",)))
    report = await sync(seeded.client, order("EXT-1", approval=status, pos=("PO-1",)))
    assert (report["marked"], report["updated"], report["created"]) == (1, 0, 0)
    assert await orders_of(seeded) == [("EXT-1", "SO-000001", "open", status, True, 1)]
    again = await sync(seeded.client, order("EXT-1", approval=status, pos=("PO-1",)))
    assert (again["unchanged"], again["marked"]) == (1, 0)
    back = await sync(seeded.client, order("EXT-1", pos=("PO-1",)))
    assert back["updated"] == 1
    assert await orders_of(seeded) == [("EXT-1", "SO-000001", "open", "approved", False, 1)]


async def test_an_order_the_order_system_holds_back_is_not_released(seeded: Central) -> None:
    await sync(seeded.client, order("EXT-1"))
    await sync(seeded.client, order("EXT-1", approval="pending_prepayment"))
    (order_id,) = (await seeded.rows("SELECT id FROM sales_orders"))[0]
    response = await seeded.client.post(f"/api/v1/orders/{order_id}/release", json={})
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "ORDER_EXCLUDED"
    assert response.json()["details"] == {
        "order": "SO-000001",
        "approval_status": "pending_prepayment",
    }
    assert await seeded.count("pick_tasks") == 0
    assert await seeded.rows("SELECT status FROM sales_orders") == [("open",)]
    shown = (await seeded.client.get(f"/api/v1/orders/{order_id}")).json()
    assert (shown["approval_status"], shown["excluded"], shown["po_count"]) == (
        "pending_prepayment",
        True,
        0,
    )


async def test_a_resync_never_duplicates_and_leaves_unchanged_orders_untouched(
    seeded: Central,
) -> None:
    page = [order(f"EXT-{n}", pos=(f"PO-{n}-A", f"PO-{n}-B")) for n in range(1, 6)]
    first = await sync(seeded.client, *page)
    assert (first["created"], first["pos_created"]) == (5, 10)
    before = await seeded.rows("SELECT id, updated_at, synced_at FROM sales_orders ORDER BY id")
    pos_before = await seeded.rows("SELECT id, updated_at FROM purchase_orders ORDER BY id")
    again = await sync(seeded.client, *page)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 5)
    assert (again["pos_created"], again["pos_updated"]) == (0, 0)
    assert await seeded.count("sales_orders") == 5
    assert await seeded.count("sales_order_lines") == 5
    assert await seeded.count("purchase_orders") == 10
    assert await seeded.count("purchase_order_lines") == 10
    assert await seeded.rows("SELECT id, updated_at, synced_at FROM sales_orders ORDER BY id") == (
        before
    )
    assert await seeded.rows("SELECT id, updated_at FROM purchase_orders ORDER BY id") == pos_before


async def test_a_changed_open_order_is_updated_and_its_lines_replaced(seeded: Central) -> None:
    await sync(seeded.client, order("EXT-1", pos=("PO-1",)))
    (before,) = await seeded.rows("SELECT updated_at FROM sales_orders")
    changed = order("EXT-1", pos=("PO-1", "PO-2"), qty="7", customer_ref="THEIR-9")
    changed["lines"].append({"product": "RAW-1", "qty": "3", "uom": "kg"})
    report = await sync(seeded.client, changed)
    assert (report["updated"], report["pos_created"], report["pos_unchanged"]) == (1, 1, 1)
    assert [(r[0], r[1], r[2]) for r in await lines_of(seeded)] == [
        (1, "FG-1", Decimal(7)),
        (2, "RAW-1", Decimal(3)),
    ]
    (row,) = await seeded.rows("SELECT customer_ref, po_count, updated_at FROM sales_orders")
    assert row[:2] == ("THEIR-9", 2)
    assert row[2] > before[0]


async def test_a_released_order_takes_header_changes_and_keeps_its_lines(seeded: Central) -> None:
    await sync(seeded.client, order("EXT-1"))
    async with seeded.engine.begin() as conn:  # released as the orders API's release leaves it
        await conn.execute(text("UPDATE sales_orders SET status = 'released'"))
    report = await sync(seeded.client, order("EXT-1", qty="9", route="NORTH"))
    assert report["updated"] == 1
    assert report["locked"] == [{"number": "EXT-1", "order": "SO-000001", "status": "released"}]
    assert await seeded.rows("SELECT route, status FROM sales_orders") == [("NORTH", "released")]
    assert [r[2] for r in await lines_of(seeded)] == [Decimal(5)]
    # A header-only change of a released order is no lock: its lines are as the source says.
    header_only = await sync(seeded.client, order("EXT-1", route="SOUTH"))
    assert (header_only["updated"], header_only["locked"]) == (1, [])


async def test_a_bad_order_is_reported_and_the_rest_of_the_page_taken_in(seeded: Central) -> None:
    bad = order("EXT-2")
    bad["lines"][0]["product"] = "NOPE"
    wrong_unit = order("EXT-3")
    wrong_unit["lines"][0]["uom"] = "kg"
    report = await sync(seeded.client, order("EXT-1"), bad, wrong_unit)
    assert report["created"] == 1
    assert [(e["number"], e["code"]) for e in report["errors"]] == [
        ("EXT-2", "UNKNOWN_PRODUCT"),
        ("EXT-3", "UOM_MISMATCH"),
    ]
    assert report["errors"][0]["details"] == ["NOPE"]
    # Nothing of it was stored, so the next sync tries again (and takes it, once fixed).
    bad["lines"][0]["product"] = "RAW-1"
    bad["lines"][0]["uom"] = "kg"
    assert (await sync(seeded.client, order("EXT-1"), bad))["created"] == 1


async def test_an_order_listed_twice_in_a_page_is_taken_once(seeded: Central) -> None:
    report = await sync(seeded.client, order("EXT-1", qty="1"), order("EXT-1", qty="2"))
    assert report["created"] == 1
    assert [e["code"] for e in report["errors"]] == ["DUPLICATE_ORDER"]
    assert [r[2] for r in await lines_of(seeded)] == [Decimal(2)]


async def test_a_po_claimed_by_two_orders_of_a_page_stays_with_the_first(seeded: Central) -> None:
    report = await sync(seeded.client, order("EXT-1", pos=("PO-1",)), order("EXT-2", pos=("PO-1",)))
    assert report["created"] == 1
    assert [e["code"] for e in report["errors"]] == ["PO_IN_TWO_ORDERS"]


async def test_a_po_moving_to_another_order_recomputes_both_orders(seeded: Central) -> None:
    await sync(seeded.client, order("EXT-1", pos=("PO-1", "PO-2")), order("EXT-2"))
    report = await sync(seeded.client, order("EXT-1", pos=("PO-1",)), order("EXT-2", pos=("PO-2",)))
    assert (report["updated"], report["pos_updated"], report["pos_unchanged"]) == (2, 1, 1)
    counts = await seeded.rows("SELECT external_number, po_count FROM sales_orders ORDER BY 1")
    assert counts == [("EXT-1", 1), ("EXT-2", 1)]


async def test_a_po_made_through_the_api_is_normalized_and_taken_over(seeded: Central) -> None:
    body = {
        "site": SITE,
        "number": "PO-000777",
        "supplier": "Mill & Co",
        "lines": [{"product": "RAW-1", "qty": "5"}],
    }
    assert (await seeded.client.post("/api/v1/purchase-orders", json=body)).status_code == 201
    assert await seeded.rows("SELECT normalized_number, order_id FROM purchase_orders") == [
        ("PO777", None)
    ]
    report = await sync(seeded.client, order("EXT-1", pos=("PO-000777",)))
    assert (report["pos_created"], report["pos_updated"]) == (0, 1)
    assert await seeded.rows("SELECT po_count FROM sales_orders") == [(1,)]


async def test_syncing_needs_the_planning_role_at_the_site(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    warehouse = await seeded.bearer("wh", ["warehouse"], [SITE])
    elsewhere = await seeded.bearer("planner-2", ["planning"], ["plant-2"])
    planner = await seeded.bearer("planner", ["planning"], [SITE])
    refused = await sync(guarded, order("EXT-1"), headers=warehouse, status=403)
    assert refused["code"] == "ROLE_REQUIRED"
    other = await sync(guarded, order("EXT-1"), headers=elsewhere, status=403)
    assert other["code"] == "SITE_FORBIDDEN"
    assert await seeded.count("sales_orders") == 0
    assert (await sync(guarded, order("EXT-1"), headers=planner))["created"] == 1
    assert await seeded.rows(
        "SELECT actor, action, target FROM audit_log WHERE action = 'orders.sync'"
    ) == [("planner", "orders.sync", SITE)]

"""POST /shipments/{id}/dispatch: what is loaded ships in one transaction (ledger, LPs,
reservations, order lines, orders, invoices, customers), the consistency check stays clean,
and a dispatch that cannot be right is refused before anything is written."""

import asyncio
import json
from asyncio.subprocess import PIPE
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from sqlalchemy import insert, select, update

from central.db.tables import (
    license_plates,
    products,
    reservations,
    work_order_materials,
    work_orders,
)
from harness import ioe_command
from tests.central.conftest import SITE, Central
from tests.central.shipping.seed import Line, picked_order
from tests.central.shipping.steps import act, dispatch, loaded, plan


async def ioe_db_check(url: str) -> tuple[int, str]:
    """Run ``ioe db check`` on the database; its exit code and output."""
    proc = await asyncio.create_subprocess_exec(
        *ioe_command("db", "check", "--db", url), stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode() + err.decode()


async def test_dispatch_ships_invoices_and_keeps_the_ledger_whole(seeded: Central) -> None:
    order = await picked_order(
        seeded,
        [
            Line("FG-1", "5", "2.5", [("C-1", "3", "L1"), ("C-2", "2", "L2")]),
            Line("RAW-1", "4", "1.25", [("R-1", "4", "L9")]),
        ],
        customer_name="Acme Foods",
    )
    sh = await plan(seeded, order.id, carrier="DHL")
    for lp in ("C-1", "C-2", "R-1"):
        await loaded(seeded, sh["number"], lp)
    answer = await dispatch(seeded, sh["id"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["shipment"]["status"] == "dispatched" and body["shipment"]["dispatched_at"]
    assert [lp["qty_shipped"] for lp in body["shipment"]["loaded"]] == ["3", "2", "4"]
    assert body["shipment"]["planned"] == [] and body["shipment"]["missing"] == []
    (invoice,) = body["invoices"]
    assert (invoice["number"], invoice["order"], invoice["shipment"]) == (
        "INV-000001",
        order.number,
        sh["number"],
    )
    assert (invoice["customer"], invoice["customer_name"], invoice["total"]) == (
        "ACME",
        "Acme Foods",
        "17.5",
    )
    assert [
        (x["line"], x["product"], x["qty"], x["unit_price"], x["amount"]) for x in invoice["lines"]
    ] == [
        (1, "FG-1", "5", "2.5", "12.5"),
        (2, "RAW-1", "4", "1.25", "5"),
    ]
    (entry,) = await seeded.rows(
        "SELECT id, actor, target FROM audit_log WHERE action = 'shipment.dispatch'"
    )
    assert entry[2] == sh["number"]
    moves = await seeded.rows(
        "SELECT lp.number, m.qty, m.cause, m.action_id, m.reference, loc.code FROM stock_moves m"
        " JOIN license_plates lp ON lp.id = m.lp_id JOIN locations loc ON loc.id = m.location_id"
        " WHERE m.kind = 'SHIP' ORDER BY lp.number"
    )
    assert moves == [  # raw SQL reads quantities in micro-units
        ("C-1", -3_000_000, "api", entry[0], sh["number"], "SHIP-1"),
        ("C-2", -2_000_000, "api", entry[0], sh["number"], "SHIP-1"),
        ("R-1", -4_000_000, "api", entry[0], sh["number"], "SHIP-1"),
    ]
    assert await seeded.rows("SELECT number, status, qty FROM license_plates ORDER BY number") == [
        ("C-1", "shipped", 0),
        ("C-2", "shipped", 0),
        ("R-1", "shipped", 0),
    ]
    assert await seeded.rows("SELECT DISTINCT status, qty FROM reservations") == [("consumed", 0)]
    lines = await seeded.rows(
        "SELECT line, status, qty_shipped, qty_invoiced FROM sales_order_lines ORDER BY line"
    )
    assert lines == [(1, "shipped", 5_000_000, 5_000_000), (2, "shipped", 4_000_000, 4_000_000)]
    ((status, invoiced, shipped_at, invoiced_at, latest),) = await seeded.rows(
        "SELECT status, invoice_status, shipped_at, invoiced_at, latest_shipment_status"
        " FROM sales_orders"
    )
    assert (status, invoiced, latest) == ("invoiced", "invoiced", "dispatched")
    assert shipped_at is not None and invoiced_at is not None
    assert await seeded.rows(
        "SELECT code, last_delivery_shipment_id FROM customers WHERE last_delivery_at IS NOT NULL"
    ) == [("ACME", sh["id"])]
    code, out = await ioe_db_check(seeded.settings.db_url)
    assert code == 0, out

    twice = await dispatch(seeded, sh["id"])
    assert twice.status_code == 409 and twice.json()["code"] == "SHIPMENT_CLOSED"
    assert twice.json()["details"] == {"shipment": sh["number"], "status": "dispatched"}
    assert await seeded.count("invoices") == 1


async def test_every_planned_lp_must_be_loaded_unless_short_shipped(seeded: Central) -> None:
    order = await picked_order(
        seeded, [Line("FG-1", "5", "2", [("C-1", "3", "L1"), ("C-2", "2", "L1")])]
    )
    sh = await plan(seeded, order.id)
    nothing = await dispatch(seeded, sh["id"])
    assert nothing.status_code == 409 and nothing.json()["code"] == "NOTHING_LOADED"
    await loaded(seeded, sh["number"], "C-1")
    refused = await dispatch(seeded, sh["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "NOT_ALL_LOADED"
    assert refused.json()["details"]["missing"] == [
        {"lp": "C-2", "order": order.number, "line": 1, "qty": "2", "location": "SHIP-1"}
    ]
    assert "C-2" in refused.json()["message"]
    assert await seeded.count("stock_moves WHERE kind = 'SHIP'") == 0

    short = await dispatch(seeded, sh["id"], short_ship_reason="truck full")
    assert short.status_code == 200, short.text
    assert short.json()["shipment"]["short_ship_reason"] == "truck full"
    assert [x["qty"] for x in short.json()["invoices"][0]["lines"]] == ["3"]
    # The rest stays open on the line; the order has shipped (short) and is invoiced for it.
    assert await seeded.rows("SELECT status, qty_shipped, qty_invoiced FROM sales_order_lines") == [
        ("picked", 3_000_000, 3_000_000)
    ]
    assert await seeded.rows("SELECT status, invoice_status FROM sales_orders") == [
        ("invoiced", "invoiced")
    ]
    assert await seeded.rows("SELECT number, status FROM license_plates ORDER BY number") == [
        ("C-1", "shipped"),
        ("C-2", "available"),
    ]
    assert await seeded.rows(
        "SELECT lp.number, r.status FROM reservations r JOIN license_plates lp ON lp.id = r.lp_id"
        " ORDER BY lp.number"
    ) == [("C-1", "consumed"), ("C-2", "active")]
    code, out = await ioe_db_check(seeded.settings.db_url)
    assert code == 0, out


async def test_a_line_shipped_in_part_leaves_the_order_open(seeded: Central) -> None:
    """Two shipments for one order: the first carries one LP, the second the rest."""
    order = await picked_order(
        seeded, [Line("FG-1", "5", "2", [("C-1", "3", None), ("C-2", "2", None)])]
    )
    first = await plan(seeded, order.id)
    second = await plan(seeded, order.id)
    await loaded(seeded, first["number"], "C-1")
    await loaded(seeded, second["number"], "C-2")
    # C-2 is going on the second shipment, so the first misses nothing.
    assert (await dispatch(seeded, first["id"])).status_code == 200
    assert await seeded.rows("SELECT status, invoice_status FROM sales_orders") == [
        ("picked", "partial")
    ]
    assert (await dispatch(seeded, second["id"])).status_code == 200
    assert await seeded.rows(
        "SELECT o.status, o.invoice_status, l.status, l.qty_shipped FROM sales_orders o"
        " JOIN sales_order_lines l ON l.order_id = o.id"
    ) == [("invoiced", "invoiced", "shipped", 5_000_000)]
    assert await seeded.rows("SELECT number, total FROM invoices ORDER BY number") == [
        ("INV-000001", 6_000_000),
        ("INV-000002", 4_000_000),
    ]


async def test_a_pallet_ships_with_its_contents_and_one_invoice_per_order(seeded: Central) -> None:
    a = await picked_order(seeded, [Line("FG-1", "3", "1", [("C-1", "3", None)])])
    b = await picked_order(seeded, [Line("FG-1", "2", "7", [("C-2", "2", None)])], customer="BETA")
    await seeded.receive("PAL-1", "1", item="FG-1", uom="ea", location="SHIP-1")
    await act(seeded, "lp.pack", {"lp": "C-1", "parent": "PAL-1"})
    await act(seeded, "lp.pack", {"lp": "C-2", "parent": "PAL-1"})
    sh = await plan(seeded, a.id, b.id)
    await loaded(seeded, sh["number"], "PAL-1")
    answer = await dispatch(seeded, sh["id"])
    assert answer.status_code == 200, answer.text
    assert [(i["order"], i["customer"], i["total"]) for i in answer.json()["invoices"]] == [
        (a.number, "ACME", "3"),
        (b.number, "BETA", "14"),
    ]
    assert await seeded.rows("SELECT number, status FROM license_plates ORDER BY number") == [
        ("C-1", "shipped"),
        ("C-2", "shipped"),
        ("PAL-1", "shipped"),
    ]
    assert await seeded.rows(
        "SELECT code FROM customers WHERE last_delivery_shipment_id = :id ORDER BY code",
        id=sh["id"],
    ) == [("ACME",), ("BETA",)]
    code, out = await ioe_db_check(seeded.settings.db_url)
    assert code == 0, out


async def test_an_lp_held_after_loading_stops_the_dispatch(seeded: Central) -> None:
    order = await picked_order(seeded, [Line("FG-1", "3", "1", [("C-1", "3", "L1")])])
    sh = await plan(seeded, order.id)
    await loaded(seeded, sh["number"], "C-1")
    await act(seeded, "qc.hold", {"lot": "L1", "reason": "recall"})
    refused = await dispatch(seeded, sh["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "LP_ON_HOLD"
    assert refused.json()["details"] == {"lp": "C-1"} and "C-1" in refused.json()["message"]
    assert await seeded.count("invoices") == 0
    assert await seeded.count("audit_log WHERE action = 'shipment.dispatch'") == 0
    assert await seeded.rows("SELECT status FROM shipments") == [("loading",)]


async def test_the_warehouse_dispatches(seeded: Central, guarded: httpx.AsyncClient) -> None:
    order = await picked_order(seeded, [Line("FG-1", "3", "1", [("C-1", "3", None)])])
    sh = await plan(seeded, order.id)
    await loaded(seeded, sh["number"], "C-1")
    planner = await seeded.bearer("planner", ["planning"], [SITE])
    dock = await seeded.bearer("dock", ["warehouse"], [SITE])
    stranger = await seeded.bearer("dock-2", ["warehouse"], ["plant-2"])
    path = f"/api/v1/shipments/{sh['id']}/dispatch"
    refused = await guarded.post(path, headers=planner)
    assert refused.status_code == 403 and refused.json()["code"] == "ROLE_REQUIRED"
    hidden = await guarded.post(path, headers=stranger)
    assert hidden.status_code == 404 and hidden.json()["code"] == "SHIPMENT_NOT_FOUND"
    done = await guarded.post(path, headers=dock)
    assert done.status_code == 200, done.text
    ((actor, details),) = await seeded.rows(
        "SELECT actor, details FROM audit_log WHERE action = 'shipment.dispatch'"
    )
    details = json.loads(details) if isinstance(details, str) else details
    assert actor == "dock"
    assert details == {"lps": ["C-1"], "short_ship_reason": None, "missing": []}


async def test_two_dispatches_at_once_ship_once(seeded: Central) -> None:
    order = await picked_order(seeded, [Line("FG-1", "3", "1", [("C-1", "3", None)])])
    sh = await plan(seeded, order.id)
    await loaded(seeded, sh["number"], "C-1")
    answers = await asyncio.gather(dispatch(seeded, sh["id"]), dispatch(seeded, sh["id"]))
    assert sorted(a.status_code for a in answers) == [200, 409]
    (late,) = [a for a in answers if a.status_code == 409]
    assert late.json()["code"] == "SHIPMENT_CLOSED"
    assert await seeded.count("invoices") == 1
    assert await seeded.count("stock_moves WHERE kind = 'SHIP'") == 1


async def test_a_work_order_reservation_on_a_shipped_lp_is_given_back(seeded: Central) -> None:
    order = await picked_order(seeded, [Line("FG-1", "2", "1", [("C-1", "3", None)])])
    async with seeded.engine.begin() as conn:  # 2 of C-1 held for the order, 1 for WO-1001
        (wo,) = (await conn.execute(select(work_orders.c.id))).one()
        material = (
            await conn.execute(
                insert(work_order_materials)
                .values(
                    work_order_id=wo,
                    line=1,
                    component_id=select(products.c.id)
                    .where(products.c.code == "FG-1")
                    .scalar_subquery(),
                    qty_per=Decimal(1),
                    scrap_factor=Decimal(0),
                    consume_whole_lp=False,
                    qty_required=Decimal(1),
                )
                .returning(work_order_materials.c.id)
            )
        ).scalar_one()
        lp = select(license_plates.c.id).where(license_plates.c.number == "C-1").scalar_subquery()
        await conn.execute(update(reservations).values(qty=Decimal(2)))
        await conn.execute(
            insert(reservations).values(
                site=SITE,
                work_order_id=wo,
                material_id=material,
                lp_id=lp,
                qty=Decimal(1),
                status="active",
                created_at=datetime.now(UTC),
            )
        )
    sh = await plan(seeded, order.id)
    await loaded(seeded, sh["number"], "C-1")
    assert (await dispatch(seeded, sh["id"])).status_code == 200
    assert await seeded.rows(
        "SELECT work_order_id IS NULL, status FROM reservations ORDER BY id"
    ) == [(True, "consumed"), (False, "released")]
    assert await seeded.rows("SELECT qty FROM stock_moves WHERE kind = 'RELEASE'") == [
        (-1_000_000,)
    ]
    code, out = await ioe_db_check(seeded.settings.db_url)
    assert code == 0, out

"""A page's orders upserted by their external number: new ones made (with their own
SO number, customer and lines), changed ones updated, unchanged ones (same content hash) not
touched at all, and orders the source now excludes marked, never deleted.

Once an order has left ``open`` (released to the warehouse), its lines carry reservations,
pick tasks and shipped quantities: a sync updates its header and reports a change of its
lines as ``locked`` instead of rewriting them.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import products, sales_order_lines, sales_orders
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType
from central.order_sync.report import SyncReport
from central.order_sync.source import (
    SourceLine,
    SourceOrder,
    SourcePoLine,
    content_hash,
    verdict,
)
from central.orders.records import customer_id, next_numbers
from central.orders.service import order_created_payload

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Upserted:
    """The orders a page wrote, by external number: every one created or updated (their
    purchase orders are written next), and those of them created."""

    ids: dict[str, int]
    created: dict[str, int]


@dataclass(frozen=True, slots=True)
class Product:
    """A product as an order line needs it."""

    id: int
    uom: str


async def products_of(conn: AsyncConnection, site: str, codes: set[str]) -> dict[str, Product]:
    """The site's products with these codes, by code (one query)."""
    if not codes:
        return {}
    query = select(products.c.id, products.c.code, products.c.uom).where(
        products.c.site == site, products.c.code.in_(sorted(codes))
    )
    return {row.code: Product(row.id, row.uom) for row in await conn.execute(query)}


def codes_of(orders: list[SourceOrder]) -> set[str]:
    """Every product code the orders' lines and purchase order lines name."""
    codes = {line.product for order in orders for line in order.lines}
    codes |= {x.product for o in orders for po in o.purchase_orders for x in po.lines}
    return codes


def problem(order: SourceOrder, found: dict[str, Product]) -> dict[str, Any] | None:
    """Why the order cannot be taken in (an unknown product, another unit, a line number
    twice, a PO number twice), as a report error; None when it can."""
    codes = codes_of([order])
    missing = sorted(code for code in codes if code not in found)
    if missing:
        return _error(order, "UNKNOWN_PRODUCT", f"product(s) {', '.join(missing)} unknown", missing)
    lines: list[SourceLine | SourcePoLine] = [*order.lines]
    lines += [x for po in order.purchase_orders for x in po.lines]
    wrong = sorted({x.product for x in lines if x.uom not in (None, found[x.product].uom)})
    if wrong:
        return _error(order, "UOM_MISMATCH", f"unit other than the product's: {wrong}", wrong)
    numbers = [x.line if x.line is not None else i for i, x in enumerate(order.lines, start=1)]
    if len(set(numbers)) != len(numbers):
        return _error(order, "DUPLICATE_LINE", "a line number appears twice", numbers)
    pos = [po.number for po in order.purchase_orders]
    if len(set(pos)) != len(pos):
        return _error(order, "DUPLICATE_PO", "a purchase order appears twice", pos)
    return None


def _error(order: SourceOrder, code: str, message: str, details: list[Any]) -> dict[str, Any]:
    """A report error about one order."""
    return {"number": order.number, "code": code, "message": message, "details": details}


def line_rows(order: SourceOrder, order_id: int, found: dict[str, Product]) -> list[dict[str, Any]]:
    """The order's lines as sales_order_lines rows: open, nothing picked, shipped or invoiced."""
    zero = Decimal(0)
    return [
        {
            "order_id": order_id,
            "line": x.line if x.line is not None else i,
            "product_id": found[x.product].id,
            "qty": x.qty,
            "uom": found[x.product].uom,
            "unit_price": x.unit_price,
            "due_date": x.due_date,
            "status": "open",
            "qty_short": zero,
            "qty_picked": zero,
            "qty_shipped": zero,
            "qty_invoiced": zero,
        }
        for i, x in enumerate(order.lines, start=1)
    ]


def _line_key(row: Any) -> tuple[Any, ...]:
    """What makes two versions of a line the same line."""
    return (row["line"], row["product_id"], row["qty"], row["uom"], row["unit_price"])


async def upsert_orders(
    conn: AsyncConnection,
    *,
    site: str,
    orders: list[SourceOrder],
    found: dict[str, Product],
    at: datetime,
    report: SyncReport,
) -> Upserted:
    """Write the page's orders; answers the ids of those created or updated."""
    hashes = {order.number: content_hash(order) for order in orders}
    existing = {
        row.external_number: row
        for row in await conn.execute(
            select(
                sales_orders.c.id,
                sales_orders.c.number,
                sales_orders.c.external_number,
                sales_orders.c.source_hash,
                sales_orders.c.status,
            ).where(sales_orders.c.site == site, sales_orders.c.external_number.in_(sorted(hashes)))
        )
    }
    new: list[SourceOrder] = []
    changed: list[tuple[SourceOrder, Any]] = []
    marks: list[dict[str, Any]] = []
    for order in orders:
        row, judged = existing.get(order.number), verdict(order.approval_status)
        if judged == "investigate":
            report.investigate.append(
                {"number": order.number, "approval_status": order.approval_status}
            )
            log.warning(
                "order %s at %s: approval status %r is unknown; taken in, please investigate",
                order.number,
                site,
                order.approval_status,
            )
        if row is not None and row.source_hash == hashes[order.number]:
            report.unchanged += 1
        elif judged == "exclude" and row is None:
            report.excluded += 1
        elif judged == "exclude" and row is not None:
            marks.append(
                {"b_id": row.id, "b_status": order.approval_status, "b_hash": hashes[order.number]}
            )
        elif (error := problem(order, found)) is not None:
            report.errors.append(error)
        elif row is None:
            new.append(order)
        else:
            changed.append((order, row))
    if marks:
        await conn.execute(
            update(sales_orders)
            .where(sales_orders.c.id == bindparam("b_id"))
            .values(
                approval_status=bindparam("b_status"),
                excluded=True,
                source_hash=bindparam("b_hash"),
                synced_at=at,
                updated_at=at,
            ),
            marks,
        )
        report.marked += len(marks)
    created = await _create(conn, site=site, orders=new, hashes=hashes, found=found, at=at)
    report.created += len(new)
    updated = await _update(conn, site, changed, hashes, found, at, report)
    return Upserted(ids=created | updated, created=created)


async def _header(
    conn: AsyncConnection, site: str, order: SourceOrder, at: datetime, cache: dict[str, int]
) -> dict[str, Any]:
    """The header columns a synced order takes from the source."""
    if order.customer not in cache:
        cache[order.customer] = await customer_id(
            conn, site, order.customer, at, name=order.customer_name
        )
    return {
        "customer_id": cache[order.customer],
        "customer_ref": order.customer_ref,
        "due_date": order.due_date,
        "route": order.route,
        "approval_status": order.approval_status,
    }


async def _create(
    conn: AsyncConnection,
    *,
    site: str,
    orders: list[SourceOrder],
    hashes: dict[str, str],
    found: dict[str, Product],
    at: datetime,
) -> dict[str, int]:
    """Insert new orders and their lines (one statement per table)."""
    if not orders:
        return {}
    numbers = await next_numbers(conn, "sales_order", len(orders))
    customers: dict[str, int] = {}
    rows = [
        {
            **await _header(conn, site, order, at, customers),
            "site": site,
            "number": number,
            "external_number": order.number,
            "status": "open",
            "invoice_status": "none",
            "excluded": False,
            "source_hash": hashes[order.number],
            "synced_at": at,
            "shipment_count": 0,
            "po_count": 0,
            "created_at": at,
            "updated_at": at,
        }
        for order, number in zip(orders, numbers, strict=True)
    ]
    made = await conn.execute(
        insert(sales_orders).returning(sales_orders.c.id, sort_by_parameter_order=True), rows
    )
    ids = {order.number: order_id for order, order_id in zip(orders, made.scalars(), strict=True)}
    lines = [row for order in orders for row in line_rows(order, ids[order.number], found)]
    if lines:
        await conn.execute(insert(sales_order_lines), lines)
    await write_events(
        conn,
        (
            DomainEvent(
                EventType.ORDER_CREATED,
                site,
                number,
                {
                    **order_created_payload(
                        customer=order.customer,
                        customer_ref=order.customer_ref,
                        due_date=order.due_date,
                        route=order.route,
                        lines=[
                            (x.line or i, x.product, x.qty, found[x.product].uom)
                            for i, x in enumerate(order.lines, start=1)
                        ],
                        by="order sync",
                    ),
                    "external_number": order.number,
                },
                occurred_at=at,
            )
            for order, number in zip(orders, numbers, strict=True)
        ),
    )
    return ids


async def _update(
    conn: AsyncConnection,
    site: str,
    changed: list[tuple[SourceOrder, Any]],
    hashes: dict[str, str],
    found: dict[str, Product],
    at: datetime,
    report: SyncReport,
) -> dict[str, int]:
    """Update changed orders: the header always; the lines of open orders replaced, those
    of orders past open compared and, when they differ, reported as locked."""
    if not changed:
        return {}
    customers: dict[str, int] = {}
    headers = []
    for order, row in changed:
        header = await _header(conn, site, order, at, customers)
        headers.append({f"b_{k}": v for k, v in header.items()} | {"b_id": row.id})
        headers[-1]["b_hash"] = hashes[order.number]
    await conn.execute(
        update(sales_orders)
        .where(sales_orders.c.id == bindparam("b_id"))
        .values(
            customer_id=bindparam("b_customer_id"),
            customer_ref=bindparam("b_customer_ref"),
            due_date=bindparam("b_due_date"),
            route=bindparam("b_route"),
            approval_status=bindparam("b_approval_status"),
            excluded=False,
            source_hash=bindparam("b_hash"),
            synced_at=at,
            updated_at=at,
        ),
        headers,
    )
    report.updated += len(changed)
    open_ids = [row.id for _, row in changed if row.status == "open"]
    if open_ids:
        await conn.execute(
            delete(sales_order_lines).where(sales_order_lines.c.order_id.in_(open_ids))
        )
        rows = [
            r for o, row in changed if row.status == "open" for r in line_rows(o, row.id, found)
        ]
        if rows:
            await conn.execute(insert(sales_order_lines), rows)
    past = [(order, row) for order, row in changed if row.status != "open"]
    if past:
        await _report_locked(conn, past, found, report)
    return {order.number: row.id for order, row in changed}


async def _report_locked(
    conn: AsyncConnection,
    past: list[tuple[SourceOrder, Any]],
    found: dict[str, Product],
    report: SyncReport,
) -> None:
    """List the orders past open whose lines the source changed (their lines stay)."""
    held: dict[int, set[tuple[Any, ...]]] = {row.id: set() for _, row in past}
    query = select(sales_order_lines).where(sales_order_lines.c.order_id.in_(sorted(held)))
    for line in await conn.execute(query):
        held[line.order_id].add(_line_key(line._mapping))
    for order, row in past:
        wanted = {_line_key(r) for r in line_rows(order, row.id, found)}
        if wanted != held[row.id]:
            report.locked.append(
                {"number": order.number, "order": row.number, "status": row.status}
            )
            log.warning(
                "order %s (%s) is %s: its lines changed in the source and are kept as they "
                "are in central",
                order.number,
                row.number,
                row.status,
            )

"""Invoices: one per order per dispatch, for what shipped of each order line at the line's unit
price; listed and shown through the API.

An amount is quantity x unit price, rounded half-up to the six decimals central keeps; an
invoice's total is the sum of its line amounts, so the lines always add up to it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Select, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access.callers import Caller
from central.db.rows import page
from central.db.tables import (
    customers,
    invoice_lines,
    invoices,
    products,
    sales_order_lines,
    sales_orders,
    shipments,
)
from central.errors import Ambiguous, NotFound
from central.orders.records import next_numbers

CENT_MICRO = Decimal("0.000001")  # the smallest amount central stores


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One invoiced order line."""

    line: int
    product: str
    qty: Decimal
    uom: str
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice with its lines."""

    id: int
    site: str
    number: str
    order_id: int
    order: str
    shipment: str
    customer: str
    customer_name: str
    total: Decimal
    issued_at: datetime
    lines: list[InvoiceLine]


def amount(qty: Decimal, unit_price: Decimal) -> Decimal:
    """A line's amount, rounded half-up to what central stores."""
    return (qty * unit_price).quantize(CENT_MICRO, rounding=ROUND_HALF_UP)


_COUNT_INVOICED = (
    update(sales_order_lines)
    .where(sales_order_lines.c.id == bindparam("add_line"))
    .values(qty_invoiced=sales_order_lines.c.qty_invoiced + bindparam("add_qty"))
)


async def issue_invoices(
    conn: AsyncConnection,
    *,
    site: str,
    shipment_id: int,
    shipped: Mapping[int, Decimal],
    at: datetime,
) -> list[int]:
    """An invoice per order for what shipped (order line id -> qty) on this shipment, and the
    lines' qty_invoiced; answers the invoices' ids."""
    if not shipped:
        return []
    lines = (
        await conn.execute(
            select(
                sales_order_lines.c.id,
                sales_order_lines.c.order_id,
                sales_order_lines.c.product_id,
                sales_order_lines.c.uom,
                sales_order_lines.c.unit_price,
                sales_orders.c.customer_id,
            )
            .join(sales_orders, sales_orders.c.id == sales_order_lines.c.order_id)
            .where(sales_order_lines.c.id.in_(sorted(shipped)))
            .order_by(sales_orders.c.id, sales_order_lines.c.line)
        )
    ).all()
    by_order: dict[int, list[Any]] = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(line)
    numbers = await next_numbers(conn, "invoice", len(by_order))
    made: list[int] = []
    for number, (order_id, its_lines) in zip(numbers, by_order.items(), strict=True):
        rows = [
            {
                "order_line_id": line.id,
                "product_id": line.product_id,
                "qty": shipped[line.id],
                "uom": line.uom,
                "unit_price": line.unit_price,
                "amount": amount(shipped[line.id], line.unit_price),
            }
            for line in its_lines
        ]
        invoice_id = (
            await conn.execute(
                insert(invoices)
                .values(
                    site=site,
                    number=number,
                    order_id=order_id,
                    shipment_id=shipment_id,
                    customer_id=its_lines[0].customer_id,
                    total=sum((row["amount"] for row in rows), Decimal(0)),
                    issued_at=at,
                )
                .returning(invoices.c.id)
            )
        ).scalar_one()
        await conn.execute(insert(invoice_lines), [{"invoice_id": invoice_id, **r} for r in rows])
        made.append(invoice_id)
    await conn.execute(
        _COUNT_INVOICED, [{"add_line": line_id, "add_qty": qty} for line_id, qty in shipped.items()]
    )
    return made


def _header() -> Select[Any]:
    """Invoice rows with their order, shipment and customer."""
    return (
        select(
            invoices.c.id,
            invoices.c.site,
            invoices.c.number,
            invoices.c.order_id,
            sales_orders.c.number.label("order"),
            shipments.c.number.label("shipment"),
            customers.c.code.label("customer"),
            customers.c.name.label("customer_name"),
            invoices.c.total,
            invoices.c.issued_at,
        )
        .join(sales_orders, sales_orders.c.id == invoices.c.order_id)
        .join(shipments, shipments.c.id == invoices.c.shipment_id)
        .join(customers, customers.c.id == invoices.c.customer_id)
    )


async def _with_lines(conn: AsyncConnection, rows: list[Any]) -> list[Invoice]:
    """The invoices of ``rows`` with their lines, in one more query."""
    lines: dict[int, list[InvoiceLine]] = {row.id: [] for row in rows}
    if rows:
        query = (
            select(
                invoice_lines.c.invoice_id,
                sales_order_lines.c.line,
                products.c.code.label("product"),
                invoice_lines.c.qty,
                invoice_lines.c.uom,
                invoice_lines.c.unit_price,
                invoice_lines.c.amount,
            )
            .join(sales_order_lines, sales_order_lines.c.id == invoice_lines.c.order_line_id)
            .join(products, products.c.id == invoice_lines.c.product_id)
            .where(invoice_lines.c.invoice_id.in_(list(lines)))
            .order_by(invoice_lines.c.invoice_id, sales_order_lines.c.line)
        )
        for r in await conn.execute(query):
            values = dict(r._mapping)
            lines[values.pop("invoice_id")].append(InvoiceLine(**values))
    return [Invoice(**row._mapping, lines=lines[row.id]) for row in rows]


async def invoices_by_id(conn: AsyncConnection, ids: list[int]) -> list[Invoice]:
    """These invoices with their lines, in number order."""
    if not ids:
        return []
    query = _header().where(invoices.c.id.in_(ids)).order_by(invoices.c.number)
    return await _with_lines(conn, list(await conn.execute(query)))


async def list_invoices(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    order_id: int | None = None,
    customer: str | None = None,
    issued_after: datetime | None = None,
    issued_before: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Invoice]:
    """Invoices of ``sites`` (None: all), newest first; ``customer`` is a customer code,
    ``issued_after`` inclusive and ``issued_before`` exclusive."""
    limit, offset = page(limit, offset)
    query = _header().order_by(invoices.c.issued_at.desc(), invoices.c.id.desc())
    if sites is not None:
        query = query.where(invoices.c.site.in_(sites))
    if order_id is not None:
        query = query.where(invoices.c.order_id == order_id)
    if customer is not None:
        query = query.where(customers.c.code == customer)
    if issued_after is not None:
        query = query.where(invoices.c.issued_at >= issued_after)
    if issued_before is not None:
        query = query.where(invoices.c.issued_at < issued_before)
    rows = list(await conn.execute(query.limit(limit).offset(offset)))
    return await _with_lines(conn, rows)


async def get_invoice(
    conn: AsyncConnection, *, caller: Caller, number: str, site: str | None = None
) -> Invoice:
    """One invoice by number; INVOICE_AMBIGUOUS when the number is at several of the caller's
    sites and ``site`` names none."""
    query = _header().where(invoices.c.number == number)
    if site is not None:
        caller.require_visible(site, what="invoice", key=number, field="number")
        query = query.where(invoices.c.site == site)
    rows = [row for row in await conn.execute(query) if caller.sees(row.site)]
    if not rows:
        raise NotFound(
            f"invoice {number} does not exist", code="INVOICE_NOT_FOUND", details={"number": number}
        )
    if len(rows) > 1:
        sites = sorted(row.site for row in rows)
        raise Ambiguous(
            f"invoice {number} exists at several of your sites ({', '.join(sites)}); "
            "name one with ?site=",
            code="INVOICE_AMBIGUOUS",
            details={"number": number, "sites": sites},
        )
    return (await _with_lines(conn, rows))[0]

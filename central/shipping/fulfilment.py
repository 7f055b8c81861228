"""An order's fulfilment: per order line, what was ordered, picked, shipped and invoiced, and
each LP that shipped on it (lot, expiry, quantity, shipment, dispatch date)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access.callers import Caller
from central.db.enums import SHIPMENT_LEFT
from central.db.tables import (
    customers,
    invoices,
    license_plates,
    products,
    sales_order_lines,
    sales_orders,
    shipment_lps,
    shipments,
)
from central.errors import NotFound

SHIPPED = SHIPMENT_LEFT  # the LPs have left


@dataclass(frozen=True, slots=True)
class ShippedLp:
    """An LP that shipped on an order line."""

    lp: str
    lot: str | None
    expiry: date | None
    qty: Decimal
    shipment: str
    dispatched_at: datetime | None


@dataclass(frozen=True, slots=True)
class FulfilmentLine:
    """One order line and the LPs that shipped on it."""

    line: int
    product: str
    uom: str
    status: str
    qty: Decimal
    qty_picked: Decimal
    qty_shipped: Decimal
    qty_invoiced: Decimal
    qty_open: Decimal
    unit_price: Decimal
    shipped: list[ShippedLp]


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """What of an order has shipped and been invoiced, line by line, with totals."""

    order_id: int
    order: str
    site: str
    customer: str
    status: str
    invoice_status: str
    shipped_at: datetime | None
    invoiced_at: datetime | None
    lines: list[FulfilmentLine]
    qty_ordered: Decimal
    qty_shipped: Decimal
    qty_invoiced: Decimal
    amount_invoiced: Decimal
    shipments: list[str]
    invoices: list[str]


async def _shipped_lps(conn: AsyncConnection, order_id: int) -> dict[int, list[ShippedLp]]:
    """Order line id -> the LPs that left on it, by dispatch time and LP number."""
    query = (
        select(
            shipment_lps.c.order_line_id,
            license_plates.c.number.label("lp"),
            license_plates.c.lot,
            license_plates.c.expiry,
            shipment_lps.c.qty_shipped.label("qty"),
            shipments.c.number.label("shipment"),
            shipments.c.dispatched_at,
        )
        .join(license_plates, license_plates.c.id == shipment_lps.c.lp_id)
        .join(shipments, shipments.c.id == shipment_lps.c.shipment_id)
        .join(sales_order_lines, sales_order_lines.c.id == shipment_lps.c.order_line_id)
        .where(sales_order_lines.c.order_id == order_id, shipments.c.status.in_(SHIPPED))
        .order_by(shipments.c.dispatched_at, license_plates.c.number)
    )
    found: dict[int, list[ShippedLp]] = {}
    for row in await conn.execute(query):
        values = dict(row._mapping)
        found.setdefault(values.pop("order_line_id"), []).append(ShippedLp(**values))
    return found


async def fulfilment(conn: AsyncConnection, *, caller: Caller, order_id: int) -> Fulfilment:
    """The order's fulfilment, or ORDER_NOT_FOUND (also for another site's order)."""
    order = (
        await conn.execute(
            select(sales_orders, customers.c.code.label("customer"))
            .join(customers, customers.c.id == sales_orders.c.customer_id)
            .where(sales_orders.c.id == order_id)
        )
    ).first()
    if order is None or not caller.sees(order.site):
        raise NotFound(
            f"order {order_id} does not exist", code="ORDER_NOT_FOUND", details={"id": order_id}
        )
    shipped = await _shipped_lps(conn, order_id)
    rows = await conn.execute(
        select(sales_order_lines, products.c.code.label("product"))
        .join(products, products.c.id == sales_order_lines.c.product_id)
        .where(sales_order_lines.c.order_id == order_id)
        .order_by(sales_order_lines.c.line)
    )
    lines = [
        FulfilmentLine(
            line=r.line,
            product=r.product,
            uom=r.uom,
            status=r.status,
            qty=r.qty,
            qty_picked=r.qty_picked,
            qty_shipped=r.qty_shipped,
            qty_invoiced=r.qty_invoiced,
            qty_open=max(r.qty - r.qty_shipped, Decimal(0)),
            unit_price=r.unit_price,
            shipped=shipped.get(r.id, []),
        )
        for r in rows
    ]
    issued = (
        await conn.execute(
            select(invoices.c.number, invoices.c.total)
            .where(invoices.c.order_id == order_id)
            .order_by(invoices.c.number)
        )
    ).all()
    numbers = sorted({lp.shipment for line in lines for lp in line.shipped})
    return Fulfilment(
        order_id=order.id,
        order=order.number,
        site=order.site,
        customer=order.customer,
        status=order.status,
        invoice_status=order.invoice_status,
        shipped_at=order.shipped_at,
        invoiced_at=order.invoiced_at,
        lines=lines,
        qty_ordered=sum((x.qty for x in lines if x.status != "cancelled"), Decimal(0)),
        qty_shipped=sum((x.qty_shipped for x in lines), Decimal(0)),
        qty_invoiced=sum((x.qty_invoiced for x in lines), Decimal(0)),
        amount_invoiced=sum((row.total for row in issued), Decimal(0)),
        shipments=numbers,
        invoices=[row.number for row in issued],
    )

"""Sales orders as the API shows them: listed with filters and pages, or one with its lines
(and what is reserved, short, picked, shipped and invoiced of each), its pick tasks and the
shipments that serve it."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access.callers import Caller
from central.db.enums import InvoiceStatus, SoLineStatus, SoStatus
from central.db.rows import page
from central.db.tables import (
    customers,
    products,
    reservations,
    sales_order_lines,
    sales_orders,
    shipment_orders,
    shipments,
)
from central.errors import NotFound
from central.orders.tasks import Task, task_query, tasks_of


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line: what is ordered at which price, and how far it has come."""

    id: int
    line: int
    product: str
    uom: str
    qty: Decimal
    unit_price: Decimal
    due_date: date | None
    status: SoLineStatus
    qty_reserved: Decimal
    qty_short: Decimal
    qty_picked: Decimal
    qty_shipped: Decimal
    qty_invoiced: Decimal


@dataclass(frozen=True, slots=True)
class ShipmentRef:
    """A shipment serving the order: its number and status."""

    number: str
    status: str


@dataclass(frozen=True, slots=True)
class Order:
    """A sales order with its lines; ``tasks`` and ``shipments`` are filled for one order."""

    id: int
    site: str
    number: str
    external_number: str | None
    customer: str
    customer_name: str
    customer_ref: str | None
    due_date: date | None
    route: str | None
    status: SoStatus
    invoice_status: InvoiceStatus
    approval_status: str | None
    excluded: bool
    shipment_count: int
    po_count: int
    latest_shipment_status: str | None
    created_at: datetime
    updated_at: datetime
    released_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    lines: list[OrderLine]
    tasks: list[Task] | None = None
    shipments: list[ShipmentRef] | None = None


def _header() -> Select[Any]:
    """Order rows with their customer's code and name."""
    return select(
        sales_orders,
        customers.c.code.label("customer"),
        customers.c.name.label("customer_name"),
    ).join(customers, customers.c.id == sales_orders.c.customer_id)


async def _lines(conn: AsyncConnection, order_ids: list[int]) -> dict[int, list[OrderLine]]:
    """The lines of these orders, with what is actively reserved of each, in two queries."""
    found: dict[int, list[OrderLine]] = {i: [] for i in order_ids}
    if not order_ids:
        return found
    reserved = (
        select(reservations.c.order_line_id, func.sum(reservations.c.qty).label("qty"))
        .where(reservations.c.status == "active", reservations.c.order_line_id.is_not(None))
        .group_by(reservations.c.order_line_id)
        .subquery("reserved")
    )
    query = (
        select(
            sales_order_lines,
            products.c.code.label("product"),
            reserved.c.qty.label("qty_reserved"),
        )
        .join(products, products.c.id == sales_order_lines.c.product_id)
        .outerjoin(reserved, reserved.c.order_line_id == sales_order_lines.c.id)
        .where(sales_order_lines.c.order_id.in_(order_ids))
        .order_by(sales_order_lines.c.order_id, sales_order_lines.c.line)
    )
    for r in await conn.execute(query):
        found[r.order_id].append(
            OrderLine(
                id=r.id,
                line=r.line,
                product=r.product,
                uom=r.uom,
                qty=r.qty,
                unit_price=r.unit_price,
                due_date=r.due_date,
                status=r.status,
                qty_reserved=Decimal(r.qty_reserved or 0),
                qty_short=r.qty_short,
                qty_picked=r.qty_picked,
                qty_shipped=r.qty_shipped,
                qty_invoiced=r.qty_invoiced,
            )
        )
    return found


def _order(row: Any, lines: list[OrderLine], **more: Any) -> Order:
    """An Order from a header row."""
    return Order(
        id=row.id,
        site=row.site,
        number=row.number,
        external_number=row.external_number,
        customer=row.customer,
        customer_name=row.customer_name,
        customer_ref=row.customer_ref,
        due_date=row.due_date,
        route=row.route,
        status=row.status,
        invoice_status=row.invoice_status,
        approval_status=row.approval_status,
        excluded=row.excluded,
        shipment_count=row.shipment_count,
        po_count=row.po_count,
        latest_shipment_status=row.latest_shipment_status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        released_at=row.released_at,
        cancelled_at=row.cancelled_at,
        cancel_reason=row.cancel_reason,
        lines=lines,
        **more,
    )


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_orders(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    status: str | None = None,
    customer: str | None = None,
    due_before: date | None = None,
    due_after: date | None = None,
    has_shipments: bool | None = None,
    shipment_status: str | None = None,
    search: str | None = None,
    include_excluded: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[Order]:
    """Orders of ``sites`` (None: all), newest first. ``due_before``/``due_after`` are
    inclusive; ``search`` matches part of the number, the external number, the customer's
    code or name, or the customer's reference; orders a sync excluded are left out unless
    ``include_excluded``."""
    limit, offset = page(limit, offset)
    query = _header().order_by(sales_orders.c.id.desc())
    if sites is not None:
        query = query.where(sales_orders.c.site.in_(sites))
    if not include_excluded:
        query = query.where(sales_orders.c.excluded.is_(False))
    if status is not None:
        query = query.where(sales_orders.c.status == status)
    if customer is not None:
        query = query.where(customers.c.code == customer)
    if due_before is not None:
        query = query.where(sales_orders.c.due_date <= due_before)
    if due_after is not None:
        query = query.where(sales_orders.c.due_date >= due_after)
    if has_shipments is not None:
        served = sales_orders.c.shipment_count > 0
        query = query.where(served if has_shipments else ~served)
    if shipment_status is not None:
        query = query.where(sales_orders.c.latest_shipment_status == shipment_status)
    if search:
        like = _like(search)
        query = query.where(
            or_(
                *(
                    column.ilike(like, escape="\\")
                    for column in (
                        sales_orders.c.number,
                        sales_orders.c.external_number,
                        sales_orders.c.customer_ref,
                        customers.c.code,
                        customers.c.name,
                    )
                )
            )
        )
    rows = list(await conn.execute(query.limit(limit).offset(offset)))
    lines = await _lines(conn, [row.id for row in rows])
    return [_order(row, lines[row.id]) for row in rows]


async def order_row(conn: AsyncConnection, *, caller: Caller, order_id: int) -> Any:
    """The order's header row, or NotFound (also for an order of a site the caller does not
    see)."""
    row = (await conn.execute(_header().where(sales_orders.c.id == order_id))).first()
    if row is None:
        raise NotFound(f"sales order {order_id} does not exist", details={"id": order_id})
    caller.require_visible(row.site, what="sales order", key=order_id)
    return row


async def get_order(conn: AsyncConnection, *, caller: Caller, order_id: int) -> Order:
    """One order with its lines, its pick tasks (in walking order) and its shipments."""
    row = await order_row(conn, caller=caller, order_id=order_id)
    lines = await _lines(conn, [order_id])
    tasks = await tasks_of(conn, task_query().where(sales_orders.c.id == order_id))
    served = await conn.execute(
        select(shipments.c.number, shipments.c.status)
        .join(shipment_orders, shipment_orders.c.shipment_id == shipments.c.id)
        .where(shipment_orders.c.order_id == order_id)
        .order_by(shipments.c.id)
    )
    return _order(
        row,
        lines[order_id],
        tasks=tasks,
        shipments=[ShipmentRef(r.number, r.status) for r in served],
    )

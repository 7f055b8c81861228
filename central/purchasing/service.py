"""Purchase orders through the API: created with their lines, listed with what has been
received against each line, closed, reopened and cancelled. Receipts count against them on
the apply path (central/purchasing/receipts.py)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.catalog.line_products import line_products
from central.clock import now
from central.db.enums import PoStatus
from central.db.rows import page
from central.db.tables import products, purchase_order_lines, purchase_orders
from central.errors import (
    ActionConflict,
    AlreadyExists,
    Ambiguous,
    NotFound,
)
from central.purchasing.po_numbers import normalize

# What each step may start from, and its audit action.
_STEPS: dict[str, tuple[tuple[str, ...], str]] = {
    "closed": (("open",), "po.close"),
    "open": (("closed",), "po.reopen"),
    "cancelled": (("open", "closed"), "po.cancel"),
}


@dataclass(frozen=True, slots=True)
class LineIn:
    """A line as the caller asks for it."""

    product: str
    qty: Decimal
    line: int | None = None
    uom: str | None = None


@dataclass(frozen=True, slots=True)
class Line:
    """A purchase order line: ordered, received, and what is still to come."""

    line: int
    product: str
    uom: str
    qty_ordered: Decimal
    qty_received: Decimal
    qty_open: Decimal


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """A purchase order with its lines."""

    id: int
    site: str
    number: str
    supplier: str
    expected_date: date | None
    status: PoStatus
    created_at: datetime
    updated_at: datetime
    lines: list[Line]


def _header() -> Select[Any]:
    """Purchase order rows."""
    return select(purchase_orders)


async def _with_lines(conn: AsyncConnection, rows: list[Any]) -> list[PurchaseOrder]:
    """The orders of ``rows`` with their lines, in one more query."""
    ids = [row.id for row in rows]
    lines: dict[int, list[Line]] = {i: [] for i in ids}
    if ids:
        query = (
            select(
                purchase_order_lines.c.po_id,
                purchase_order_lines.c.line,
                products.c.code,
                purchase_order_lines.c.uom,
                purchase_order_lines.c.qty_ordered,
                purchase_order_lines.c.qty_received,
            )
            .join(products, products.c.id == purchase_order_lines.c.product_id)
            .where(purchase_order_lines.c.po_id.in_(ids))
            .order_by(purchase_order_lines.c.po_id, purchase_order_lines.c.line)
        )
        for r in await conn.execute(query):
            open_qty = max(r.qty_ordered - r.qty_received, Decimal(0))
            lines[r.po_id].append(
                Line(r.line, r.code, r.uom, r.qty_ordered, r.qty_received, open_qty)
            )
    return [
        PurchaseOrder(
            id=row.id,
            site=row.site,
            number=row.number,
            supplier=row.supplier,
            expected_date=row.expected_date,
            status=row.status,
            created_at=row.created_at,
            updated_at=row.updated_at,
            lines=lines[row.id],
        )
        for row in rows
    ]


async def create_purchase_order(
    conn: AsyncConnection,
    *,
    caller: Caller,
    site: str,
    number: str,
    supplier: str,
    expected_date: date | None,
    lines: list[LineIn],
) -> PurchaseOrder:
    """Add an open purchase order with its lines (products by code, in their own unit)."""
    caller.require_site(site)
    found = await line_products(conn, site, lines, kept_in="counted")
    at = now()
    try:
        po_id = (
            await conn.execute(
                insert(purchase_orders)
                .values(
                    site=site,
                    number=number,
                    normalized_number=normalize(number),  # what shipments are matched by
                    supplier=supplier,
                    expected_date=expected_date,
                    status="open",
                    created_at=at,
                    updated_at=at,
                )
                .returning(purchase_orders.c.id)
            )
        ).scalar_one()
    except IntegrityError as err:
        raise AlreadyExists(
            f"purchase order {number} already exists at {site}",
            details={"number": number, "site": site},
        ) from err
    await conn.execute(
        insert(purchase_order_lines),
        [
            {
                "po_id": po_id,
                "line": line.line if line.line is not None else i,
                "product_id": found[line.product].id,
                "qty_ordered": line.qty,
                "uom": found[line.product].uom,
                "qty_received": Decimal(0),
            }
            for i, line in enumerate(lines, start=1)
        ],
    )
    await audit.record(
        conn,
        caller=caller,
        action="po.create",
        target=number,
        site=site,
        details={"supplier": supplier, "lines": len(lines)},
    )
    row = (await conn.execute(_header().where(purchase_orders.c.id == po_id))).one()
    return (await _with_lines(conn, [row]))[0]


async def list_purchase_orders(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    status: str | None = None,
    supplier: str | None = None,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[PurchaseOrder]:
    """Purchase orders of ``sites`` (None: all), newest first; ``search`` matches a part of
    the number or the supplier."""
    limit, offset = page(limit, offset)
    query = _header().order_by(purchase_orders.c.id.desc())
    if sites is not None:
        query = query.where(purchase_orders.c.site.in_(sites))
    if status is not None:
        query = query.where(purchase_orders.c.status == status)
    if supplier is not None:
        query = query.where(purchase_orders.c.supplier == supplier)
    if search:
        like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                purchase_orders.c.number.ilike(like, escape="\\"),
                purchase_orders.c.supplier.ilike(like, escape="\\"),
            )
        )
    rows = list(await conn.execute(query.limit(limit).offset(offset)))
    return await _with_lines(conn, rows)


async def _find(
    conn: AsyncConnection, *, caller: Caller, number: str, site: str | None, lock: bool = False
) -> Any:
    """The order row by number at ``site`` (or the one visible site that has it)."""
    query = _header().where(purchase_orders.c.number == number)
    if site is not None:
        caller.require_visible(site, what="purchase order", key=number, field="number")
        query = query.where(purchase_orders.c.site == site)
    if lock:
        query = query.with_for_update()
    rows = [row for row in await conn.execute(query) if caller.sees(row.site)]
    if not rows:
        raise NotFound(f"purchase order {number} does not exist", details={"number": number})
    if len(rows) > 1:
        sites = sorted(row.site for row in rows)
        raise Ambiguous(
            f"purchase order {number} exists at several of your sites ({', '.join(sites)}); "
            "name one with ?site=",
            code="PO_AMBIGUOUS",
            details={"number": number, "sites": sites},
        )
    return rows[0]


async def get_purchase_order(
    conn: AsyncConnection, *, caller: Caller, number: str, site: str | None = None
) -> PurchaseOrder:
    """One purchase order with received vs ordered per line, or NotFound."""
    row = await _find(conn, caller=caller, number=number, site=site)
    return (await _with_lines(conn, [row]))[0]


async def change_status(
    conn: AsyncConnection, *, caller: Caller, number: str, site: str | None, target: PoStatus
) -> PurchaseOrder:
    """Close, reopen or cancel an order (its row locked, so no receipt lands half-way)."""
    row = await _find(conn, caller=caller, number=number, site=site, lock=True)
    caller.require_site(row.site)
    allowed, action = _STEPS[target]
    if row.status not in allowed:
        raise ActionConflict(
            f"purchase order {number} is {row.status}; it cannot become {target} "
            f"(only from {' or '.join(allowed)})",
            code="PO_BAD_TRANSITION",
            details={"number": number, "status": row.status, "target": target},
        )
    await conn.execute(
        update(purchase_orders)
        .where(purchase_orders.c.id == row.id)
        .values(status=target, updated_at=now())
    )
    await audit.record(
        conn,
        caller=caller,
        action=action,
        target=number,
        site=row.site,
        details={"from": row.status, "to": target},
    )
    return await get_purchase_order(conn, caller=caller, number=number, site=row.site)

"""Dispatch: a loaded shipment leaves, in one transaction.

Every LP loaded onto it ships: a ledger ``SHIP -qty`` row at its location (caused by the
dispatch's audit entry, ``cause = 'api'``), the LP ``shipped`` with nothing left, its
order-line reservation consumed (and any work-order reservation given back), and
``shipment_lps.qty_shipped``. Order lines count what shipped (``qty_shipped``) and are
``shipped`` once all they ordered has; an order is ``shipped`` when every line that is not
cancelled is, or when this shipment was short-shipped on purpose. Each order gets an invoice
for what shipped of it here (central/shipping/invoicing.py), and is ``invoiced`` when it has
shipped and everything shipped is invoiced. Its customer's last delivery is this shipment.

Everything that can refuse runs before the first write: a shipment not planned or loading
(``SHIPMENT_CLOSED``), nothing loaded (``NOTHING_LOADED``), planned LPs not loaded without a
reason (``NOT_ALL_LOADED``), a loaded LP held or gone since it was loaded (``LP_ON_HOLD``,
``LP_NOT_AVAILABLE``).
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from central.access import audit
from central.access.callers import Caller
from central.apply.context import ApplyContext, LicensePlate
from central.apply.event_facts import lp_facts
from central.db.enums import SHIPMENT_NOT_LEFT
from central.db.tables import (
    customers,
    invoices,
    reservations,
    sales_order_lines,
    sales_orders,
    shipment_lps,
    shipments,
)
from central.errors import ActionConflict
from central.events.types import EventType
from central.inventory.claims import claims_on, fit_reservations
from central.orders.stats import orders_of_shipments, recompute_order_stats
from central.shipping.invoicing import Invoice, invoices_by_id, issue_invoices
from central.shipping.picked import LoadedLp, ShipLp, loaded_lps, planned_lps
from central.shipping.planning import Shipment, get_shipment, shipment_row
from protocol.types import format_qty

OPEN_FOR_LOADING = SHIPMENT_NOT_LEFT
# Order statuses a dispatch moves on (shipped or invoiced ones have nothing left to ship).
_SHIPPING_ORDERS = ("released", "picking", "picked")


@dataclass(frozen=True, slots=True)
class Dispatched:
    """A dispatched shipment and the invoices its dispatch issued."""

    shipment: Shipment
    invoices: list[Invoice]


def _missing(lp: ShipLp) -> dict[str, Any]:
    """A planned LP that is not loaded, as a refusal lists it."""
    return {
        "lp": lp.lp,
        "order": lp.order,
        "line": lp.line,
        "qty": format_qty(lp.qty),
        "location": lp.location,
    }


def _refuse(row: Any, loaded: list[LoadedLp], missing: list[ShipLp], reason: str | None) -> None:
    """Refuse a dispatch the shipment's state does not allow."""
    if row.status not in OPEN_FOR_LOADING:
        raise ActionConflict(
            f"shipment {row.number} is {row.status}; only a planned or loading shipment can be "
            "dispatched",
            code="SHIPMENT_CLOSED",
            details={"shipment": row.number, "status": row.status},
        )
    if not loaded:
        raise ActionConflict(
            f"shipment {row.number} has nothing loaded; load its LPs (ship.load) first",
            code="NOTHING_LOADED",
            details={"shipment": row.number, "missing": [_missing(lp) for lp in missing]},
        )
    if missing and reason is None:
        raise ActionConflict(
            f"shipment {row.number}: {len(missing)} planned LP(s) not loaded "
            f"({', '.join(lp.lp for lp in missing)}); load them, or dispatch with a "
            "short_ship_reason",
            code="NOT_ALL_LOADED",
            details={"shipment": row.number, "missing": [_missing(lp) for lp in missing]},
        )


async def _loaded_plates(
    ctx: ApplyContext, site: str, loaded: list[LoadedLp]
) -> list[LicensePlate]:
    """The loaded LPs, row-locked, each still holding stock and not on hold."""
    await ctx.load_lps((site, lp.lp) for lp in loaded)
    plates = []
    for item in loaded:
        lp = ctx.lps[(site, item.lp)]
        assert lp is not None  # LPs are never deleted
        if lp.status == "on_hold":
            raise ActionConflict(
                f"LP {lp.number} was put on quality hold after it was loaded; take it off the "
                "shipment or release it before dispatch",
                code="LP_ON_HOLD",
                details={"lp": lp.number},
            )
        if lp.status != "available":
            raise ActionConflict(
                f"LP {lp.number} is {lp.status} since it was loaded; it cannot ship",
                code="LP_NOT_AVAILABLE",
                details={"lp": lp.number, "status": lp.status},
            )
        plates.append(lp)
    return plates


async def _ship_lps(
    ctx: ApplyContext, row: Any, loaded: list[LoadedLp], plates: list[LicensePlate], entry: str
) -> dict[int, Decimal]:
    """SHIP rows, LPs shipped, their reservations closed, shipment_lps.qty_shipped; answers
    what shipped per order line."""
    shipped: dict[int, Decimal] = defaultdict(Decimal)
    took: list[dict[str, Any]] = []  # what each SHIP row took, for shipment_lps
    for item, lp in zip(loaded, plates, strict=True):
        qty = lp.qty
        ctx.ledger(
            lp=lp,
            kind="SHIP",
            qty=-qty,
            location_id=lp.location_id,
            occurred_at=ctx.recorded_at,
            action_id=entry,
            reference=row.number,
        )
        # Its order-line reservations are consumed below; a work order's is given back.
        for_work_orders = [c for c in await claims_on(ctx, lp) if c.order_line_id is None]
        lp.qty, lp.status = Decimal(0), "shipped"
        ctx.save_lp(lp)
        await fit_reservations(ctx, lp, for_work_orders, action_id=entry, reference=row.number)
        if item.order_line_id is not None:
            shipped[item.order_line_id] += qty
        ctx.event(
            EventType.LP_SHIPPED,
            row.site,
            lp.number,
            {**(await lp_facts(ctx, lp)), "shipped_qty": qty, "shipment": row.number},
            cause=entry,
        )
        took.append({"row_lp": item.lp_id, "row_qty": qty})
    await ctx.flush()
    await ctx.conn.execute(
        update(shipment_lps)
        .where(shipment_lps.c.shipment_id == row.id, shipment_lps.c.lp_id == bindparam("row_lp"))
        .values(qty_shipped=bindparam("row_qty")),
        took,
    )
    await ctx.conn.execute(
        update(reservations)
        .where(
            reservations.c.lp_id.in_([lp.id for lp in plates]),
            reservations.c.order_line_id.is_not(None),
            reservations.c.status == "active",
        )
        .values(status="consumed", qty=Decimal(0), closed_at=ctx.recorded_at)
    )
    return dict(shipped)


async def _count_lines(conn: AsyncConnection, shipped: dict[int, Decimal]) -> None:
    """Order lines count what shipped; a line that has shipped all it ordered is shipped."""
    if not shipped:
        return
    await conn.execute(
        update(sales_order_lines)
        .where(sales_order_lines.c.id == bindparam("add_line"))
        .values(qty_shipped=sales_order_lines.c.qty_shipped + bindparam("add_qty")),
        [{"add_line": line_id, "add_qty": qty} for line_id, qty in shipped.items()],
    )
    await conn.execute(
        update(sales_order_lines)
        .where(
            sales_order_lines.c.id.in_(list(shipped)),
            sales_order_lines.c.status != "cancelled",
            sales_order_lines.c.qty_shipped >= sales_order_lines.c.qty,
        )
        .values(status="shipped")
    )


async def _lock_orders(conn: AsyncConnection, order_ids: set[int]) -> None:
    """Lock the orders whose kept counters this dispatch changes."""
    if order_ids:
        await conn.execute(
            select(sales_orders.c.id)
            .where(sales_orders.c.id.in_(sorted(order_ids)))
            .order_by(sales_orders.c.id)
            .with_for_update()
        )


async def _advance_orders(
    conn: AsyncConnection, order_ids: set[int], *, short: bool, at: Any
) -> list[str]:
    """Orders that shipped something here: shipped when every live line is (or the shipment
    was short-shipped), then invoiced when everything shipped is invoiced. Answers the
    numbers of the orders that became shipped."""
    if not order_ids:
        return []
    ids = sorted(order_ids)
    line = sales_order_lines.alias("line")
    live = and_(line.c.order_id == sales_orders.c.id, line.c.status != "cancelled")
    unshipped = select(func.count()).where(live, line.c.status != "shipped").scalar_subquery()
    uninvoiced = (
        select(func.count()).where(live, line.c.qty_invoiced < line.c.qty_shipped).scalar_subquery()
    )
    ships: ColumnElement[bool] = sales_orders.c.status.in_(_SHIPPING_ORDERS)
    if not short:
        ships = ships & (unshipped == 0)
    became = list(
        await conn.scalars(
            update(sales_orders)
            .where(sales_orders.c.id.in_(ids), ships)
            .values(status="shipped", shipped_at=at, updated_at=at)
            .returning(sales_orders.c.number)
        )
    )
    done = (sales_orders.c.status == "shipped") & (uninvoiced == 0)
    await conn.execute(
        update(sales_orders)
        .where(sales_orders.c.id.in_(ids))
        .values(
            invoice_status=case((done, "invoiced"), else_="partial"),
            status=case((done, "invoiced"), else_=sales_orders.c.status),
            invoiced_at=case((done, at), else_=sales_orders.c.invoiced_at),
            updated_at=at,
        )
    )
    return sorted(became)


async def _last_delivery(conn: AsyncConnection, invoice_ids: list[int], row: Any, at: Any) -> None:
    """The customers invoiced here last received this shipment."""
    if not invoice_ids:
        return
    await conn.execute(
        update(customers)
        .where(
            customers.c.id.in_(select(invoices.c.customer_id).where(invoices.c.id.in_(invoice_ids)))
        )
        .values(last_delivery_at=at, last_delivery_shipment_id=row.id)
    )


async def dispatch_shipment(
    ctx: ApplyContext, *, caller: Caller, shipment_id: int, short_ship_reason: str | None
) -> Dispatched:
    """Ship everything loaded on the shipment and invoice it (see the module's docstring)."""
    conn = ctx.conn
    row = await shipment_row(conn, caller=caller, shipment_id=shipment_id, lock=True)
    caller.require_site(row.site)
    loaded = (await loaded_lps(conn, [row.id]))[row.id]
    on = {lp.lp_id for lp in loaded}
    missing = [lp for lp in await planned_lps(conn, row.id) if lp.lp_id not in on]
    _refuse(row, loaded, missing, short_ship_reason)
    plates = await _loaded_plates(ctx, row.site, loaded)
    short = bool(missing)
    entry = await audit.record(
        conn,
        caller=caller,
        action="shipment.dispatch",
        target=row.number,
        site=row.site,
        details={
            "lps": [lp.lp for lp in loaded],
            "short_ship_reason": short_ship_reason,
            "missing": [lp.lp for lp in missing],
        },
    )
    at = ctx.recorded_at
    line_orders = {
        r.id: r.order_id
        for r in await conn.execute(
            select(sales_order_lines.c.id, sales_order_lines.c.order_id).where(
                sales_order_lines.c.id.in_(
                    [lp.order_line_id for lp in loaded if lp.order_line_id is not None]
                )
            )
        )
    }
    await _lock_orders(conn, set(line_orders.values()))
    shipped = await _ship_lps(ctx, row, loaded, plates, entry)
    await _count_lines(conn, shipped)
    invoice_ids = await issue_invoices(
        conn, site=row.site, shipment_id=row.id, shipped=shipped, at=at
    )
    orders = await _advance_orders(conn, {line_orders[i] for i in shipped}, short=short, at=at)
    await conn.execute(
        update(shipments)
        .where(shipments.c.id == row.id)
        .values(
            status="dispatched",
            dispatched_at=at,
            status_at=at,
            updated_at=at,
            short_ship_reason=short_ship_reason if short else None,
        )
    )
    await _last_delivery(conn, invoice_ids, row, at)
    await recompute_order_stats(conn, await orders_of_shipments(conn, [row.id]))
    numbers = [lp.lp for lp in loaded]
    for order in orders:
        ctx.event(
            EventType.ORDER_SHIPPED,
            row.site,
            order,
            {"shipment": row.number, "short": short, "operator": caller.name},
            cause=entry,
        )
    ctx.event(
        EventType.SHIPMENT_DISPATCHED,
        row.site,
        row.number,
        {
            "lps": numbers,
            "orders": orders,
            "invoices": len(invoice_ids),
            "short_ship_reason": short_ship_reason if short else None,
            "missing": [lp.lp for lp in missing],
            "operator": caller.name,
        },
        cause=entry,
    )
    await ctx.flush()
    return Dispatched(
        shipment=await get_shipment(conn, caller=caller, shipment_id=row.id),
        invoices=await invoices_by_id(conn, invoice_ids),
    )

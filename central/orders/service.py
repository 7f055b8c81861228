"""Sales orders through the API: created with their lines (customers made on first use),
and cancelled, giving back everything reserved for them. Release is in release.py, reads in
queries.py."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from central.access import audit
from central.access.callers import Caller
from central.apply.context import ApplyContext
from central.catalog.line_products import line_products
from central.clock import now
from central.db.tables import pick_tasks, reservations, sales_order_lines, sales_orders
from central.errors import ActionConflict, AlreadyExists, NotFound
from central.events.types import EventType
from central.inventory.claims import claims_query, release_memo
from central.orders.queries import Order, get_order
from central.orders.records import customer_id, next_numbers

CANCELLABLE = ("open", "released", "picking")
ORDER_NOT_CANCELLABLE = "ORDER_NOT_CANCELLABLE"


@dataclass(frozen=True, slots=True)
class LineIn:
    """A line as the caller asks for it."""

    product: str
    qty: Decimal
    unit_price: Decimal
    uom: str | None = None
    due_date: date | None = None
    line: int | None = None


async def create_order(
    ctx: ApplyContext,
    *,
    caller: Caller,
    site: str,
    number: str | None,
    customer: str,
    customer_name: str | None,
    customer_ref: str | None,
    due_date: date | None,
    route: str | None,
    lines: list[LineIn],
) -> Order:
    """Add an open sales order with its lines (products by code, in their own unit); its
    number is given or the next SO-xxxxxx; the customer is made on its first order."""
    caller.require_site(site)
    conn = ctx.conn
    found = await line_products(ctx.conn, site, lines, kept_in="sold")
    if number is not None:
        taken = await conn.scalar(
            select(sales_orders.c.id).where(
                sales_orders.c.site == site, sales_orders.c.number == number
            )
        )
        if taken is not None:
            raise AlreadyExists(
                f"sales order {number} already exists at {site}",
                details={"number": number, "site": site},
            )
    else:
        (number,) = await next_numbers(conn, "sales_order")
    at = now()
    try:
        order_id = (
            await conn.execute(
                insert(sales_orders)
                .values(
                    site=site,
                    number=number,
                    customer_id=await customer_id(conn, site, customer, at, customer_name),
                    customer_ref=customer_ref,
                    due_date=due_date,
                    route=route,
                    status="open",
                    invoice_status="none",
                    excluded=False,
                    shipment_count=0,
                    po_count=0,
                    created_at=at,
                    updated_at=at,
                )
                .returning(sales_orders.c.id)
            )
        ).scalar_one()
    except IntegrityError as err:  # made by another call between the check and the insert
        raise AlreadyExists(
            f"sales order {number} already exists at {site}",
            details={"number": number, "site": site},
        ) from err
    zero = Decimal(0)
    await conn.execute(
        insert(sales_order_lines),
        [
            {
                "order_id": order_id,
                "line": line.line if line.line is not None else i,
                "product_id": found[line.product].id,
                "qty": line.qty,
                "uom": found[line.product].uom,
                "unit_price": line.unit_price,
                "due_date": line.due_date,
                "status": "open",
                "qty_short": zero,
                "qty_picked": zero,
                "qty_shipped": zero,
                "qty_invoiced": zero,
            }
            for i, line in enumerate(lines, start=1)
        ],
    )
    entry = await audit.record(
        conn,
        caller=caller,
        action="so.create",
        target=number,
        site=site,
        details={"customer": customer, "lines": len(lines)},
    )
    ctx.event(
        EventType.ORDER_CREATED,
        site,
        number,
        order_created_payload(
            customer=customer,
            customer_ref=customer_ref,
            due_date=due_date,
            route=route,
            lines=[
                (
                    line.line if line.line is not None else i,
                    line.product,
                    line.qty,
                    found[line.product].uom,
                )
                for i, line in enumerate(lines, start=1)
            ],
            by=caller.name,
        ),
        cause=entry,
    )
    await ctx.flush()
    return await get_order(conn, caller=caller, order_id=order_id)


async def locked_order(ctx: ApplyContext, *, caller: Caller, order_id: int) -> Any:
    """The order's row, locked until the call commits; NotFound when the caller does not see
    it."""
    row = (
        await ctx.conn.execute(
            select(sales_orders).where(sales_orders.c.id == order_id).with_for_update()
        )
    ).first()
    if row is None or not caller.sees(row.site):
        raise NotFound(f"sales order {order_id} does not exist", details={"id": order_id})
    caller.require_site(row.site)
    return row


async def give_back(ctx: ApplyContext, order: Any, *, action_id: str) -> int:
    """Give back every active reservation of the order's lines (a RELEASE memo row each, on
    the LP it sits on, picked LPs at staging included); answers how many."""
    rows = (
        await ctx.conn.execute(
            claims_query().where(
                reservations.c.order_line_id.in_(
                    select(sales_order_lines.c.id).where(sales_order_lines.c.order_id == order.id)
                )
            )
        )
    ).all()
    if not rows:
        return 0
    await ctx.load_lps((order.site, row.lp) for row in rows)
    for row in rows:
        lp = ctx.lps[(order.site, row.lp)]
        assert lp is not None
        release_memo(
            ctx,
            lp,
            qty=row.qty,
            work_order_id=None,
            action_id=action_id,
            occurred_at=None,
            reference=order.number,
        )
    await ctx.conn.execute(
        update(reservations)
        .where(reservations.c.id.in_([row.id for row in rows]))
        .values(status="released", closed_at=ctx.recorded_at)
    )
    ctx.claims.clear()
    return len(rows)


async def cancel_order(ctx: ApplyContext, *, caller: Caller, order_id: int, reason: str) -> Order:
    """Cancel an open, released or picking order: its reservations are given back, its open
    tasks and its lines cancelled (picked LPs stay where they are, free again)."""
    order = await locked_order(ctx, caller=caller, order_id=order_id)
    if order.status not in CANCELLABLE:
        raise ActionConflict(
            f"sales order {order.number} is {order.status}; only an order that is "
            f"{', '.join(CANCELLABLE)} can be cancelled",
            code=ORDER_NOT_CANCELLABLE,
            details={"order": order.number, "status": order.status, "allowed": CANCELLABLE},
        )
    entry = await audit.record(
        ctx.conn,
        caller=caller,
        action="so.cancel",
        target=order.number,
        site=order.site,
        details={"from": order.status, "reason": reason},
    )
    released = await give_back(ctx, order, action_id=entry)
    tasks = list(
        await ctx.conn.scalars(
            update(pick_tasks)
            .where(pick_tasks.c.order_id == order.id, pick_tasks.c.status == "open")
            .values(status="cancelled", done_at=ctx.recorded_at, action_id=entry)
            .returning(pick_tasks.c.number)
        )
    )
    await ctx.conn.execute(
        update(sales_order_lines)
        .where(sales_order_lines.c.order_id == order.id)
        .values(status="cancelled")
    )
    await ctx.conn.execute(
        update(sales_orders)
        .where(sales_orders.c.id == order.id)
        .values(
            status="cancelled",
            cancelled_at=ctx.recorded_at,
            cancel_reason=reason,
            updated_at=ctx.recorded_at,
        )
    )
    await audit.add_details(ctx.conn, entry, reservations=released, tasks=len(tasks))
    for task in sorted(tasks):
        ctx.event(
            EventType.TASK_CANCELLED,
            order.site,
            task,
            {"order": order.number, "reason": reason, "operator": caller.name},
            cause=entry,
        )
    ctx.event(
        EventType.ORDER_CANCELLED,
        order.site,
        order.number,
        {
            "from": order.status,
            "reason": reason,
            "reservations": released,
            "tasks": sorted(tasks),
            "operator": caller.name,
        },
        cause=entry,
    )
    await ctx.flush()
    return await get_order(ctx.conn, caller=caller, order_id=order.id)


def order_created_payload(
    *,
    customer: str,
    customer_ref: str | None,
    due_date: date | None,
    route: str | None,
    lines: list[tuple[int, str, Decimal, str]],
    by: str,
) -> dict[str, Any]:
    """The payload of ``order.created`` (the API's and the order sync's): the customer and
    the lines as (line, product code, quantity, unit)."""
    return {
        "customer": customer,
        "customer_ref": customer_ref,
        "due_date": due_date,
        "route": route,
        "status": "open",
        "lines": [
            {"line": n, "product": product, "qty": qty, "uom": uom}
            for n, product, qty, uom in lines
        ],
        "operator": by,
    }

"""The checks of pick.confirm, each a conflict with a precise code and its figures, all
run before the pick's first write (central/orders/picking.py): the task, where the operator
stands, the LP picked, the quantity, and whether the LP's stock is free for this task.

A supervisor's "apply anyway" (``ctx.force``) waives the location, hold, expiry and
reservation checks; the task, product, status and quantity checks never.
"""

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from central.apply.context import ApplyContext, LicensePlate, Origin
from central.apply.outcome import conflict
from central.db.tables import locations, pick_tasks, products, sales_orders
from central.inventory import nesting
from central.inventory.checks import went_over_hold
from central.inventory.claims import Claim, holders
from protocol import ConflictCode
from protocol.actions import PickConfirm
from protocol.types import format_qty


async def locked_task(ctx: ApplyContext, site: str, number: str) -> Any:
    """The task with its order's number, its order row locked first (so picks of one order
    apply one after the other and its status steps see them all); TASK_NOT_FOUND."""
    where = (pick_tasks.c.site == site, pick_tasks.c.number == number)
    order_id = await ctx.conn.scalar(select(pick_tasks.c.order_id).where(*where))
    if order_id is None:
        raise conflict(
            ConflictCode.TASK_NOT_FOUND,
            f"Pick task {number} is not known at site {site}",
            {"task": number, "site": site},
        )
    await ctx.conn.execute(
        select(sales_orders.c.id).where(sales_orders.c.id == order_id).with_for_update()
    )
    here = locations.alias("here")
    query = (
        select(
            pick_tasks,
            sales_orders.c.number.label("order"),
            products.c.code.label("product"),
            here.c.code.label("location"),
        )
        .join(sales_orders, sales_orders.c.id == pick_tasks.c.order_id)
        .join(products, products.c.id == pick_tasks.c.product_id)
        .join(here, here.c.id == pick_tasks.c.location_id)
        .where(*where)
        .with_for_update(of=pick_tasks)
    )
    return (await ctx.conn.execute(query)).one()


async def check_task(ctx: ApplyContext, task: Any, body: PickConfirm) -> None:
    """The task is open, and the operator stands where it says."""
    if task.status in ("done", "cancelled"):
        code = ConflictCode.TASK_DONE if task.status == "done" else ConflictCode.TASK_CANCELLED
        raise conflict(
            code,
            f"Pick task {task.number} is {task.status}; it takes no more picks",
            {"task": task.number, "status": task.status},
        )
    if body.location is not None and body.location != task.location and not ctx.force:
        raise conflict(
            ConflictCode.WRONG_LOCATION,
            f"Pick task {task.number} picks at {task.location}, not at {body.location}",
            {"task": task.number, "location": body.location, "expected": task.location},
        )


async def check_lp(
    ctx: ApplyContext, origin: Origin, task: Any, lp: LicensePlate, qty: Decimal
) -> None:
    """The LP holds the task's product and may be picked: not held, not gone, not expired,
    not a pallet with LPs on it; and the quantity fits the task and the LP."""
    details = {"task": task.number, "lp": lp.number}
    if lp.product_id != task.product_id:
        product = await ctx.conn.scalar(
            select(products.c.code).where(products.c.id == lp.product_id)
        )
        raise conflict(
            ConflictCode.WRONG_PRODUCT,
            f"LP {lp.number} holds {product}; pick task {task.number} picks {task.product}",
            {**details, "product": product, "expected": task.product},
        )
    if lp.status in ("consumed", "shipped"):
        raise conflict(
            ConflictCode.LP_NOT_AVAILABLE,
            f"LP {lp.number} is {lp.status}; it cannot be picked",
            {**details, "status": lp.status},
        )
    if lp.status == "on_hold":
        if not ctx.force:
            raise conflict(
                ConflictCode.LP_ON_HOLD,
                f"LP {lp.number} is on quality hold; it cannot be picked",
                details,
            )
        await went_over_hold(ctx, lp)
    day = origin.occurred_at.date()
    if lp.expiry is not None and lp.expiry < day and not ctx.force:
        raise conflict(
            ConflictCode.LP_EXPIRED,
            f"LP {lp.number} expired on {lp.expiry.isoformat()}; it cannot be picked on "
            f"{day.isoformat()}",
            {**details, "expiry": lp.expiry.isoformat(), "day": day.isoformat()},
        )
    remaining = task.qty - task.qty_picked
    if qty > remaining:
        raise conflict(
            ConflictCode.OVER_PICK,
            f"Pick task {task.number} needs {format_qty(remaining)} {lp.uom} more, not "
            f"{format_qty(qty)} {lp.uom}",
            {**details, "qty": format_qty(qty), "remaining": format_qty(remaining)},
        )
    if qty > lp.qty:
        raise conflict(
            ConflictCode.QTY_EXCEEDS_LP,
            f"Cannot pick {format_qty(qty)} {lp.uom} from LP {lp.number}: it holds "
            f"{format_qty(lp.qty)} {lp.uom}",
            {**details, "qty": format_qty(qty), "holds": format_qty(lp.qty)},
        )
    if lp.id is not None and await nesting.nested_ids(ctx.conn, lp_id=lp.id):
        raise conflict(
            ConflictCode.LP_PACKED,
            f"LP {lp.number} has LPs packed on it; pick from the LPs themselves",
            details,
        )


def check_free(
    ctx: ApplyContext, task: Any, lp: LicensePlate, qty: Decimal, claims: list[Claim]
) -> None:
    """The pick takes only the task's own reservation on the LP and its free part: a planned
    LP is LP_RESERVED past that, a substitute SUBSTITUTE_NOT_AVAILABLE."""
    others = [c for c in claims if c.id != task.reservation_id]
    held = sum((c.qty for c in others), Decimal(0))
    if qty <= lp.qty - held or ctx.force:
        return
    usable = max(lp.qty - held, Decimal(0))
    reason = (
        f"{format_qty(held)} {lp.uom} of its {format_qty(lp.qty)} {lp.uom} is reserved for "
        f"{holders(others)}; {format_qty(usable)} {lp.uom} can be picked"
    )
    details = {
        "task": task.number,
        "lp": lp.number,
        "qty": format_qty(qty),
        "free": format_qty(usable),
        "reserved": format_qty(held),
    }
    if lp.id == task.lp_id:
        raise conflict(ConflictCode.LP_RESERVED, f"LP {lp.number}: {reason}", details)
    raise conflict(
        ConflictCode.SUBSTITUTE_NOT_AVAILABLE,
        f"LP {lp.number} cannot stand in for LP of task {task.number}: {reason}",
        {**details, "reason": "reserved"},
    )

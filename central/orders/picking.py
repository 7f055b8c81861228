"""pick.confirm at central: a pick task done (or part of it), the picked LP moved to the
task's staging location with its order line's reservation.

The **picked LP** is the LP scanned when the pick takes all it holds, else a child split off
it (``new_lp`` from the label, else an SSCC). It goes to staging with a ``PICK`` pair (-qty
at the pick location, +qty at staging, reference = the order number) and keeps an active
reservation of its order line until dispatch consumes it or a cancel gives it back, so stock
waiting at staging stays held for its order.

A pick of less than the task still needs leaves the task open (its ``qty_picked`` counts
the part) and records the part as a done task of its own, so every picked LP is named by the
``picked_lp_id`` of a done task; the pick that finishes the task marks the task itself done.

A substitute LP (another LP of the product than the task's) is taken when its free part
covers the pick; the task's reservation on the planned LP shrinks by what was picked and a
new one holds the picked LP. Every check runs before the first write.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update

from central.apply.context import ApplyContext, LicensePlate, Origin
from central.apply.outcome import Applied, Operation, conflict
from central.db.tables import (
    license_plates,
    locations,
    pick_tasks,
    products,
    reservations,
    sales_order_lines,
    sales_orders,
)
from central.inventory import nesting
from central.inventory.checks import known_lp, went_over_hold
from central.inventory.claims import Claim, claims_on, fit_reservations, holders, shrink
from central.inventory.operations import split_off
from central.orders.progress import refresh
from central.orders.records import next_numbers
from protocol import ConflictCode
from protocol.actions import PickConfirm
from protocol.types import format_qty


async def _task(ctx: ApplyContext, site: str, number: str) -> Any:
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


async def _check_task(ctx: ApplyContext, task: Any, body: PickConfirm) -> None:
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


async def _check_lp(
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


def _check_free(
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


async def _substitute_refusal(ctx: ApplyContext, task: Any, lp: LicensePlate) -> None:
    """A substitute must be plainly available (held and expired LPs were refused already)."""
    if lp.id != task.lp_id and lp.status != "available" and not ctx.force:
        raise conflict(
            ConflictCode.SUBSTITUTE_NOT_AVAILABLE,
            f"LP {lp.number} is {lp.status}; it cannot stand in for task {task.number}",
            {"task": task.number, "lp": lp.number, "reason": lp.status},
        )


async def _task_claim(ctx: ApplyContext, task: Any) -> tuple[Claim, LicensePlate] | None:
    """The task's own reservation where it sits now (and its LP), if still active."""
    if task.reservation_id is None:
        return None
    row = (
        await ctx.conn.execute(
            select(license_plates.c.number)
            .join(reservations, reservations.c.lp_id == license_plates.c.id)
            .where(reservations.c.id == task.reservation_id, reservations.c.status == "active")
        )
    ).first()
    if row is None:
        return None
    lp = await ctx.lp(task.site, row.number)
    assert lp is not None
    for claim in await claims_on(ctx, lp):
        if claim.id == task.reservation_id:
            return claim, lp
    return None


async def _hold_for_order(
    ctx: ApplyContext,
    origin: Origin,
    task: Any,
    source: LicensePlate,
    picked: LicensePlate,
    qty: Decimal,
) -> int:
    """Move the order line's reservation onto the picked LP; answers its id."""
    if picked is source:  # only a forced pick gets here with others' stock on it: they give way
        for claim in await claims_on(ctx, source):
            if claim.id != task.reservation_id:
                await shrink(
                    ctx,
                    claim,
                    claim.qty,
                    source,
                    used=False,
                    action_id=origin.action_id,
                    occurred_at=origin.occurred_at,
                )
    own = await _task_claim(ctx, task)
    if own is not None and own[1] is picked:  # the whole reserved LP was picked
        claim, _ = own
        if qty > claim.qty:
            _memo(ctx, picked, "RESERVE", qty - claim.qty, origin, task.order)
            claim.qty = qty
            await ctx.conn.execute(
                update(reservations).where(reservations.c.id == claim.id).values(qty=qty)
            )
        return claim.id
    if own is not None:
        claim, on = own
        await shrink(
            ctx,
            claim,
            min(claim.qty, qty),
            on,
            used=False,
            action_id=origin.action_id,
            occurred_at=origin.occurred_at,
            reference=task.order,
        )
    await ctx.flush()  # the picked LP (a new child) gets its id
    assert picked.id is not None
    _memo(ctx, picked, "RESERVE", qty, origin, task.order)
    made = await ctx.conn.execute(
        insert(reservations)
        .values(
            site=task.site,
            order_line_id=task.order_line_id,
            lp_id=picked.id,
            qty=qty,
            status="active",
            created_at=ctx.recorded_at,
        )
        .returning(reservations.c.id)
    )
    ctx.claims.pop(picked.id, None)
    await fit_reservations(ctx, source, action_id=origin.action_id, occurred_at=origin.occurred_at)
    return int(made.scalar_one())


def _memo(
    ctx: ApplyContext, lp: LicensePlate, kind: str, qty: Decimal, origin: Origin, order: str
) -> None:
    """A RESERVE memo row for the order (it never counts in a balance)."""
    ctx.ledger(
        lp=lp,
        kind=kind,
        qty=qty,
        location_id=lp.location_id,
        occurred_at=origin.occurred_at,
        action_id=origin.action_id,
        reference=order,
    )


async def _finish(
    ctx: ApplyContext,
    origin: Origin,
    task: Any,
    *,
    source: LicensePlate,
    from_location: int,
    picked: LicensePlate,
    qty: Decimal,
    reservation_id: int,
) -> str:
    """Record the pick on the task (done, or open with a done part task) and on its line;
    answers what the ack says of the task."""
    total = task.qty_picked + qty
    done_at: datetime = origin.occurred_at
    if total >= task.qty:
        left = await _task_claim(ctx, task)
        if left is not None and left[0].id != reservation_id and left[0].qty > 0:
            claim, on = left  # the planned LP's reservation is no longer needed
            await shrink(
                ctx,
                claim,
                claim.qty,
                on,
                used=False,
                action_id=origin.action_id,
                occurred_at=origin.occurred_at,
                reference=task.order,
            )
        await ctx.conn.execute(
            update(pick_tasks)
            .where(pick_tasks.c.id == task.id)
            .values(
                status="done",
                qty_picked=total,
                picked_lp_id=picked.id,
                reservation_id=reservation_id,
                done_at=done_at,
                action_id=origin.action_id,
            )
        )
        note = "task done"
    else:
        (number,) = await next_numbers(ctx.conn, "pick_task")
        await ctx.conn.execute(
            insert(pick_tasks).values(
                site=task.site,
                number=number,
                wave=task.wave,
                sequence=task.sequence,
                order_id=task.order_id,
                order_line_id=task.order_line_id,
                reservation_id=reservation_id,
                product_id=task.product_id,
                lp_id=source.id,
                location_id=from_location,
                to_location_id=task.to_location_id,
                qty=qty,
                qty_picked=qty,
                picked_lp_id=picked.id,
                status="done",
                assignee=task.assignee,
                created_at=ctx.recorded_at,
                done_at=done_at,
                action_id=origin.action_id,
            )
        )
        moved = task.reservation_id == reservation_id  # the task's reservation went along
        await ctx.conn.execute(
            update(pick_tasks)
            .where(pick_tasks.c.id == task.id)
            .values(
                qty_picked=total,
                **({"reservation_id": None} if moved else {}),
            )
        )
        note = f"recorded as {number}; {format_qty(task.qty - total)} {picked.uom} still to pick"
    await ctx.conn.execute(
        update(sales_order_lines)
        .where(sales_order_lines.c.id == task.order_line_id)
        .values(qty_picked=sales_order_lines.c.qty_picked + qty)
    )
    await refresh(ctx.conn, [task.order_id], ctx.recorded_at)
    return note


async def confirm(ctx: ApplyContext, origin: Origin, body: PickConfirm) -> Applied:
    """pick.confirm: the picked LP (whole, or split off) moves to staging held for its line."""
    task = await _task(ctx, origin.site, body.task)
    await _check_task(ctx, task, body)
    lp = await known_lp(ctx, origin.site, body.lp)
    await _check_lp(ctx, origin, task, lp, body.qty)
    await _substitute_refusal(ctx, task, lp)
    _check_free(ctx, task, lp, body.qty, await claims_on(ctx, lp))
    from_location = lp.location_id
    if body.qty == lp.qty:
        picked = lp
        picked.parent_lp_id = None  # taken off whatever it was packed on
    else:
        picked = await split_off(ctx, origin, lp, body.qty, new_number=body.new_lp)
    for kind_qty, where in ((-body.qty, from_location), (body.qty, task.to_location_id)):
        ctx.ledger(
            lp=picked,
            kind="PICK",
            qty=kind_qty,
            location_id=where,
            occurred_at=origin.occurred_at,
            action_id=origin.action_id,
            reference=task.order,
        )
    picked.location_id, picked.last_move_at = task.to_location_id, origin.occurred_at
    ctx.save_lp(picked)
    reservation_id = await _hold_for_order(ctx, origin, task, lp, picked, body.qty)
    await ctx.flush()
    note = await _finish(
        ctx,
        origin,
        task,
        source=lp,
        from_location=from_location,
        picked=picked,
        qty=body.qty,
        reservation_id=reservation_id,
    )
    staging = (await ctx.location_by_id(task.to_location_id)).code
    split = "" if picked is lp else f" as LP {picked.number}"
    return Applied(
        f"{task.number}: {format_qty(body.qty)} {lp.uom} of {task.product} picked from LP "
        f"{lp.number}{split} to {staging} for {task.order} ({note})"
    )


ACTIONS: dict[str, Operation] = {"pick.confirm": confirm}

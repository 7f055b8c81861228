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
new one holds the picked LP. Every check runs before the first write (pick_checks.py).
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update

from central.apply.context import ApplyContext, LicensePlate, Origin
from central.apply.event_facts import by, lp_facts
from central.apply.outcome import Applied, Operation
from central.db.tables import (
    license_plates,
    pick_tasks,
    reservations,
    sales_order_lines,
)
from central.events.types import EventType
from central.inventory.checks import known_lp
from central.inventory.claims import Claim, claims_on, fit_reservations, shrink
from central.inventory.operations import split_off
from central.orders.pick_checks import (
    check_free,
    check_lp,
    check_task,
    locked_task,
)
from central.orders.progress import refresh
from central.orders.records import next_numbers
from protocol.actions import PickConfirm
from protocol.types import format_qty


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
        note, done = "task done", task.number
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
        done = number
    ctx.emit(
        EventType.TASK_DONE,
        origin,
        done,
        {
            "order": task.order,
            "product": task.product,
            "lp": picked.number,
            "qty": qty,
            "part_of": None if done == task.number else task.number,
            "qty_picked": total,
            "qty_planned": task.qty,
            **by(origin),
        },
    )
    await ctx.conn.execute(
        update(sales_order_lines)
        .where(sales_order_lines.c.id == task.order_line_id)
        .values(qty_picked=sales_order_lines.c.qty_picked + qty)
    )
    if await refresh(ctx.conn, [task.order_id], ctx.recorded_at):
        ctx.emit(EventType.ORDER_PICKED, origin, task.order, {"order": task.order})
    return note


async def confirm(ctx: ApplyContext, origin: Origin, body: PickConfirm) -> Applied:
    """pick.confirm: the picked LP (whole, or split off) moves to staging held for its line."""
    task = await locked_task(ctx, origin.site, body.task)
    await check_task(ctx, task, body)
    lp = await known_lp(ctx, origin.site, body.lp)
    await check_lp(ctx, origin, task, lp, body.qty)
    check_free(ctx, task, lp, body.qty, await claims_on(ctx, lp))
    from_location = lp.location_id
    if body.qty == lp.qty:
        picked = lp
        picked.parent_lp_id = None  # taken off whatever it was packed on
    else:
        picked = await split_off(ctx, origin, lp, body.qty, new_number=body.new_lp, how="pick")
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
    staging = (await ctx.location_by_id(task.to_location_id)).code
    facts = await lp_facts(ctx, picked)
    ctx.emit(
        EventType.LP_PICKED,
        origin,
        picked.number,
        {
            **facts,
            "from": (await ctx.location_by_id(from_location)).code,
            "to": staging,
            "picked_qty": body.qty,
            "source": lp.number,
            "task": task.number,
            "order": task.order,
            "lps": [] if picked is lp else [lp.number],
            **by(origin),
        },
    )
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
    split = "" if picked is lp else f" as LP {picked.number}"
    return Applied(
        f"{task.number}: {format_qty(body.qty)} {lp.uom} of {task.product} picked from LP "
        f"{lp.number}{split} to {staging} for {task.order} ({note})"
    )


ACTIONS: dict[str, Operation] = {"pick.confirm": confirm}

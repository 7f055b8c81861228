"""Appliers for production on the floor: material consumed into a work order (against its
reservations), output made (dated by the product's shelf life), steps from the floor."""

from decimal import Decimal

from sqlalchemy import case, func, select, update

from central.apply.context import ApplyContext, Origin, WorkOrder
from central.apply.event_facts import by, emit_created, lp_facts
from central.apply.outcome import Applied, Operation, conflict
from central.db.tables import stock_moves, work_orders
from central.events.types import EventType
from central.inventory.checks import (
    location_id,
    lot_on_hold,
    new_lp,
    new_lp_number,
    usable_lp,
)
from central.inventory.claims import claims_on, holders, reserved_for_others
from central.inventory.expiry import expiry_from
from central.production.checks import check_consume, check_output
from central.production.lifecycle import (
    bad_transition,
    cancelled,
    is_behind,
    known_wo,
    open_wo,
    start_on_use,
    transition,
)
from central.production.reservations import use_for_consumption
from protocol import ConflictCode
from protocol.actions import LpConsume, WoOutput, WorkOrderStep
from protocol.types import format_qty


async def consume(ctx: ApplyContext, origin: Origin, body: LpConsume) -> Applied:
    """lp.consume: ledger CONSUME on the work order; the whole LP when no qty is given."""
    lp = await usable_lp(ctx, origin.site, body.lp, verb="consumed")
    wo = await open_wo(ctx, origin.site, body.work_order)
    qty = lp.qty if body.qty is None else body.qty
    if qty > lp.qty and ctx.force:
        # "Apply anyway": the floor used more than central knew of; the shortfall is booked
        # as a CORRECTION first, so the ledger still sums to what the LP holds.
        ctx.ledger(
            lp=lp,
            kind="CORRECTION",
            qty=qty - lp.qty,
            location_id=lp.location_id,
            occurred_at=origin.occurred_at,
            action_id=origin.action_id,
        )
        ctx.emit(
            EventType.LP_ADJUSTED,
            origin,
            lp.number,
            {
                **(await lp_facts(ctx, lp)),
                "qty": qty,
                "from_qty": lp.qty,
                "difference": qty - lp.qty,
                "reason": "correction",
                **by(origin),
            },
        )
        lp.qty = qty
    if qty > lp.qty:
        raise conflict(
            ConflictCode.QTY_EXCEEDS_LP,
            f"Cannot consume {format_qty(qty)} {lp.uom} from LP {lp.number}: it holds "
            f"{format_qty(lp.qty)} {lp.uom}",
        )
    await check_consume(ctx, origin, lp=lp, wo=wo, qty=qty)  # BOM, expiry, over-consumption
    claims = await claims_on(ctx, lp)
    held_for_others = reserved_for_others(claims, wo)
    if qty > lp.qty - held_for_others and not ctx.force:
        others = holders([c for c in claims if c.work_order_id != wo.id])
        free = max(lp.qty - held_for_others, Decimal(0))
        raise conflict(
            ConflictCode.LP_RESERVED,
            f"LP {lp.number} holds {format_qty(lp.qty)} {lp.uom}, {format_qty(held_for_others)} "
            f"{lp.uom} of it reserved for {others}; {format_qty(free)} {lp.uom} "
            f"can be consumed into {wo.number}, not {format_qty(qty)} {lp.uom}",
        )
    ctx.ledger(
        lp=lp,
        kind="CONSUME",
        qty=-qty,
        location_id=lp.location_id,
        occurred_at=origin.occurred_at,
        action_id=origin.action_id,
        work_order_id=wo.id,
    )
    lp.qty -= qty
    if lp.qty == 0:
        lp.status = "consumed"
    ctx.save_lp(lp)
    await use_for_consumption(
        ctx, wo, lp, qty, claims, action_id=origin.action_id, occurred_at=origin.occurred_at
    )
    facts = await lp_facts(ctx, lp)
    ctx.emit(
        EventType.LP_CONSUMED,
        origin,
        lp.number,
        {**facts, "work_order": wo.number, "consumed_qty": qty, **by(origin)},
    )
    await start_on_use(ctx, wo, cause=origin.action_id, occurred_at=origin.occurred_at)
    left = "nothing left" if lp.qty == 0 else f"{format_qty(lp.qty)} {lp.uom} left"
    return Applied(
        f"{format_qty(qty)} {lp.uom} of LP {lp.number} consumed into {wo.number} ({left})"
    )


async def _inputs_consumed_before(ctx: ApplyContext, wo: WorkOrder) -> list[int]:
    """Every LP consumed on the work order before this output: the new LP's parents.

    Conservative: a recall may include too much (an input an earlier output used up), never
    too little (one dough batch consumed once, then many cartons output from it)."""
    await ctx.flush()
    query = (
        select(stock_moves.c.lp_id)
        .where(stock_moves.c.work_order_id == wo.id, stock_moves.c.kind == "CONSUME")
        .group_by(stock_moves.c.lp_id)
        .order_by(func.min(stock_moves.c.id))
    )
    return list((await ctx.conn.execute(query)).scalars())


async def output(ctx: ApplyContext, origin: Origin, body: WoOutput) -> Applied:
    """wo.output: a new LP of the WO's product, ledger PRODUCE, genealogy from its inputs."""
    wo = await open_wo(ctx, origin.site, body.work_order)
    await check_output(ctx, wo=wo, qty=body.qty)  # over-production
    to_id = await location_id(ctx, origin.site, body.location)
    number = await new_lp_number(ctx, origin.site, body.lp)
    parents = await _inputs_consumed_before(ctx, wo)
    held = await lot_on_hold(ctx, origin.site, wo.product_id, body.lot)
    lp = new_lp(
        ctx,
        origin,
        number=number,
        product_id=wo.product_id,
        qty=body.qty,
        uom=wo.uom,
        lot=body.lot,
        expiry=expiry_from(origin.occurred_at, wo.shelf_life_days),
        location_id=to_id,
        status="on_hold" if held else "available",
    )
    ctx.ledger(
        lp=lp,
        kind="PRODUCE",
        qty=body.qty,
        location_id=to_id,
        occurred_at=origin.occurred_at,
        action_id=origin.action_id,
        work_order_id=wo.id,
        reference=wo.number,
    )
    for parent in parents:
        ctx.link(
            source_id=parent,
            target=lp,
            kind="PRODUCE",
            action_id=origin.action_id,
            work_order_id=wo.id,
        )
    await ctx.conn.execute(
        update(work_orders)
        .where(work_orders.c.id == wo.id)
        .values(
            qty_produced=work_orders.c.qty_produced + body.qty,
            status=case(
                (work_orders.c.status == "released", "in_progress"), else_=work_orders.c.status
            ),
        )
    )
    await emit_created(ctx, origin, lp, "output", work_order=wo.number)
    if wo.status == "released":
        wo.status = "in_progress"
        ctx.event(
            EventType.WO_STARTED,
            wo.site,
            wo.number,
            {"status": wo.status, "from": "released"},
            cause=origin.action_id,
            occurred_at=origin.occurred_at,
        )
    return Applied(f"LP {number} made on {wo.number}: {format_qty(body.qty)} {wo.uom}")


async def _step(ctx: ApplyContext, origin: Origin, number: str, target: str) -> str | None:
    """Move a work order from the floor; answers a note when a forced step found it there
    already. Cancelled is WO_CANCELLED, completed or closed WO_CLOSED, any other wrong status
    WO_BAD_TRANSITION."""
    wo = await known_wo(ctx, origin.site, number)
    if ctx.force:
        if is_behind(wo, target):  # "apply anyway" never moves an order backwards
            return f"Work order {wo.number} is already {wo.status}; nothing changed"
    elif wo.status == "cancelled":
        raise cancelled(wo)
    elif wo.status in ("completed", "closed"):
        raise bad_transition(wo, target, code=ConflictCode.WO_CLOSED.value)
    await transition(
        ctx, wo, target, action_id=origin.action_id, force=ctx.force, at=origin.occurred_at
    )
    return None


async def start(ctx: ApplyContext, origin: Origin, body: WorkOrderStep) -> Applied:
    """wo.start: a released work order is in progress."""
    note = await _step(ctx, origin, body.work_order, "in_progress")
    return Applied(note or f"Work order {body.work_order} started")


async def complete(ctx: ApplyContext, origin: Origin, body: WorkOrderStep) -> Applied:
    """wo.complete: a started (or released) work order is completed; material still reserved
    for it is given back."""
    note = await _step(ctx, origin, body.work_order, "completed")
    return Applied(note or f"Work order {body.work_order} completed")


ACTIONS: dict[str, Operation] = {
    "lp.consume": consume,
    "wo.output": output,
    "wo.start": start,
    "wo.complete": complete,
}

"""Appliers for LP actions (receive, move, consume) and WO output: checks first, then writes.

Every check that can refuse an action runs before the first write, so a conflict never
leaves half an action behind. Conflicts are raised as ActionConflict with a ConflictCode and
a sentence a kiosk can show as is.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select, update

from central.db.tables import stock_moves, work_orders
from central.errors import ActionConflict
from central.services.context import ApplyContext, LicensePlate, WorkOrder
from protocol import ConflictCode, Envelope
from protocol.actions import LpConsume, LpMove, LpReceive, WoOutput
from protocol.types import format_qty

# Applied, but changed nothing: a newer move of the same LP was applied already.
MOVE_SUPERSEDED = "MOVE_SUPERSEDED"


@dataclass(frozen=True)
class Applied:
    """The outcome of an applied action: usually no code, and a short confirmation."""

    message: str
    code: str | None = None


def _conflict(code: ConflictCode, message: str) -> ActionConflict:
    """An ActionConflict carrying a protocol conflict code."""
    return ActionConflict(message, code=code.value)


async def _consumed_into(ctx: ApplyContext, lp: LicensePlate) -> str | None:
    """The number of the work order that consumed the last of an LP, if the ledger says."""
    await ctx.flush()
    query = (select(work_orders.c.number)
             .join(stock_moves, stock_moves.c.work_order_id == work_orders.c.id)
             .where(stock_moves.c.lp_id == lp.id, stock_moves.c.kind == "CONSUME")
             .order_by(stock_moves.c.id.desc()).limit(1))
    return (await ctx.conn.execute(query)).scalar_one_or_none()


async def _usable_lp(ctx: ApplyContext, number: str, *, verb: str) -> LicensePlate:
    """The LP, or a conflict when it is unknown, consumed, shipped or on hold."""
    lp = await ctx.lp(number)
    if lp is None:
        raise _conflict(ConflictCode.LP_NOT_FOUND, f"LP {number} is not known at central")
    if lp.status == "consumed":
        wo = await _consumed_into(ctx, lp)
        into = f" into {wo}" if wo else ""
        raise _conflict(ConflictCode.LP_ALREADY_CONSUMED,
                        f"LP {number} was already consumed{into}; it cannot be {verb}")
    if lp.status == "shipped":
        raise _conflict(ConflictCode.LP_SHIPPED, f"LP {number} was shipped; it cannot be {verb}")
    if lp.status == "on_hold":
        raise _conflict(ConflictCode.LP_ON_HOLD,
                        f"LP {number} is on quality hold; it cannot be {verb}")
    return lp


async def _open_wo(ctx: ApplyContext, number: str) -> WorkOrder:
    """The work order, or a conflict when it is unknown, not released yet, or finished."""
    wo = await ctx.wo(number)
    if wo is None:
        raise _conflict(ConflictCode.WO_NOT_FOUND, f"Work order {number} is not known at central")
    if wo.status in ("completed", "closed"):
        raise _conflict(ConflictCode.WO_CLOSED,
                        f"Work order {number} is {wo.status}; it takes no more material or output")
    if wo.status not in ("released", "in_progress"):
        raise _conflict(ConflictCode.WO_NOT_RELEASED,
                        f"Work order {number} is {wo.status}, not released yet")
    return wo


async def _location(ctx: ApplyContext, site: str, code: str) -> int:
    """A location id at the envelope's site, or a LOCATION_NOT_FOUND conflict."""
    location_id = await ctx.refs.location(ctx.conn, site, code)
    if location_id is None:
        raise _conflict(ConflictCode.LOCATION_NOT_FOUND,
                        f"Location {code} does not exist at site {site}")
    return location_id


async def _new_lp_number(ctx: ApplyContext, wanted: str | None) -> str:
    """The label's number when it is free (else a conflict), or a freshly allocated SSCC."""
    if wanted is not None:
        if await ctx.lp(wanted) is not None:
            raise _conflict(ConflictCode.LP_ALREADY_EXISTS, f"LP {wanted} already exists")
        return wanted
    return await ctx.next_sscc()


def _new_lp(ctx: ApplyContext, env: Envelope, *, number: str, product_id: int, qty: Decimal,
            uom: str, location_id: int, lot: str | None = None,
            expiry: date | None = None) -> LicensePlate:
    """A new available LP, written at the next flush."""
    lp = LicensePlate(None, number, product_id, qty, uom, lot, expiry, location_id, "available",
                      None)
    ctx.add_lp(lp, created_at=ctx.recorded_at, created_by_action=env.id)
    return lp


async def _start_wo(ctx: ApplyContext, wo: WorkOrder) -> None:
    """Material or output on a released work order means it is in progress."""
    if wo.status == "released":
        wo.status = "in_progress"
        await ctx.conn.execute(update(work_orders).where(work_orders.c.id == wo.id)
                               .values(status="in_progress"))


async def receive(ctx: ApplyContext, env: Envelope, body: LpReceive) -> Applied:
    """lp.receive: a new LP at a location, ledger RECEIPT."""
    product = await ctx.refs.product(ctx.conn, body.item)
    if product is None:
        raise _conflict(ConflictCode.PRODUCT_NOT_FOUND, f"Product {body.item} is not known at "
                                                        "central")
    location_id = await _location(ctx, env.site, body.location)
    if body.uom != product.uom:
        raise _conflict(ConflictCode.UOM_MISMATCH,
                        f"{product.code} is counted in {product.uom}, not {body.uom}")
    number = await _new_lp_number(ctx, body.lp)
    lp = _new_lp(ctx, env, number=number, product_id=product.id, qty=body.qty,
                 uom=product.uom, lot=body.lot, expiry=body.expiry, location_id=location_id)
    ctx.ledger(lp=lp, kind="RECEIPT", qty=body.qty, location_id=location_id,
               occurred_at=env.occurred_at, action_id=env.id, reference=body.po_number)
    return Applied(f"LP {number} received: {format_qty(body.qty)} {product.uom} of "
                   f"{product.code} at {body.location}")


async def move(ctx: ApplyContext, env: Envelope, body: LpMove) -> Applied:
    """lp.move: TRANSFER_OUT at the old location, TRANSFER_IN at the new; latest device ts wins."""
    lp = await _usable_lp(ctx, body.lp, verb="moved")
    to_id = await _location(ctx, env.site, body.to_location)
    occurred = env.occurred_at
    if lp.last_move_at is not None and occurred < lp.last_move_at:
        return Applied(f"LP {lp.number} was moved by a later scan; this earlier move changes "
                       "nothing", code=MOVE_SUPERSEDED)
    ctx.ledger(lp=lp, kind="TRANSFER_OUT", qty=-lp.qty, location_id=lp.location_id,
               occurred_at=occurred, action_id=env.id)
    ctx.ledger(lp=lp, kind="TRANSFER_IN", qty=lp.qty, location_id=to_id,
               occurred_at=occurred, action_id=env.id)
    lp.location_id, lp.last_move_at = to_id, occurred
    ctx.save_lp(lp)
    return Applied(f"LP {lp.number} moved to {body.to_location}")


async def consume(ctx: ApplyContext, env: Envelope, body: LpConsume) -> Applied:
    """lp.consume: ledger CONSUME on the work order; the whole LP when no qty is given."""
    lp = await _usable_lp(ctx, body.lp, verb="consumed")
    wo = await _open_wo(ctx, body.work_order)
    qty = lp.qty if body.qty is None else body.qty
    if qty > lp.qty:
        raise _conflict(ConflictCode.QTY_EXCEEDS_LP,
                        f"Cannot consume {format_qty(qty)} {lp.uom} from LP {lp.number}: it holds "
                        f"{format_qty(lp.qty)} {lp.uom}")
    ctx.ledger(lp=lp, kind="CONSUME", qty=-qty, location_id=lp.location_id,
               occurred_at=env.occurred_at, action_id=env.id, work_order_id=wo.id)
    lp.qty -= qty
    if lp.qty == 0:
        lp.status = "consumed"
    ctx.save_lp(lp)
    await _start_wo(ctx, wo)
    left = "nothing left" if lp.qty == 0 else f"{format_qty(lp.qty)} {lp.uom} left"
    return Applied(f"{format_qty(qty)} {lp.uom} of LP {lp.number} consumed into {wo.number} "
                   f"({left})")


async def _inputs_since_last_output(ctx: ApplyContext, wo: WorkOrder) -> list[int]:
    """LPs consumed on the work order since its previous output: the new LP's parents."""
    await ctx.flush()
    last_output = (select(func.coalesce(func.max(stock_moves.c.id), 0))
                   .where(stock_moves.c.work_order_id == wo.id, stock_moves.c.kind == "PRODUCE")
                   .scalar_subquery())
    query = (select(stock_moves.c.lp_id)
             .where(stock_moves.c.work_order_id == wo.id, stock_moves.c.kind == "CONSUME",
                    stock_moves.c.id > last_output)
             .group_by(stock_moves.c.lp_id).order_by(func.min(stock_moves.c.id)))
    return list((await ctx.conn.execute(query)).scalars())


async def output(ctx: ApplyContext, env: Envelope, body: WoOutput) -> Applied:
    """wo.output: a new LP of the WO's product, ledger PRODUCE, genealogy from its inputs."""
    wo = await _open_wo(ctx, body.work_order)
    location_id = await _location(ctx, env.site, body.location)
    number = await _new_lp_number(ctx, body.lp)
    parents = await _inputs_since_last_output(ctx, wo)
    lp = _new_lp(ctx, env, number=number, product_id=wo.product_id, qty=body.qty, uom=wo.uom,
                 lot=body.lot, location_id=location_id)
    ctx.ledger(lp=lp, kind="PRODUCE", qty=body.qty, location_id=location_id,
               occurred_at=env.occurred_at, action_id=env.id, work_order_id=wo.id,
               reference=wo.number)
    for parent in parents:
        ctx.link(parent_id=parent, child=lp, kind="PRODUCE", action_id=env.id)
    await ctx.conn.execute(update(work_orders).where(work_orders.c.id == wo.id).values(
        qty_produced=work_orders.c.qty_produced + body.qty,
        status=case((work_orders.c.status == "released", "in_progress"),
                    else_=work_orders.c.status)))
    wo.status = "in_progress"
    return Applied(f"LP {number} made on {wo.number}: {format_qty(body.qty)} {wo.uom}")


Applier = Callable[[ApplyContext, Envelope, Any], Awaitable[Applied]]
APPLIERS: dict[str, Applier] = {
    "lp.receive": receive,
    "lp.move": move,
    "lp.consume": consume,
    "wo.output": output,
}


def lp_numbers(env: Envelope) -> list[str]:
    """LP numbers an envelope names, so a batch can load them in one query."""
    number = getattr(env.parsed_body, "lp", None)
    return [number] if number else []


def needs_sscc(env: Envelope) -> bool:
    """True when the action makes a new LP without a label number: central allocates one."""
    return env.type in ("lp.receive", "wo.output") and getattr(env.parsed_body, "lp", 1) is None


def wo_numbers(env: Envelope) -> list[str]:
    """Work order numbers an envelope names, so a batch can load them in one query."""
    number = getattr(env.parsed_body, "work_order", None)
    return [number] if number else []


async def apply_action(ctx: ApplyContext, env: Envelope) -> Applied:
    """Apply one checked envelope; raises ActionConflict when it cannot apply."""
    applier = APPLIERS.get(env.type)
    if applier is None:  # a type protocol knows but central has no applier for yet
        raise ActionConflict(f"{env.type} is not handled by this central yet",
                             code="TYPE_NOT_HANDLED")
    return await applier(ctx, env, env.parsed_body)

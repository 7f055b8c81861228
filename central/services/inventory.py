"""Appliers for LP actions (receive, move, consume) and WO output: checks first, then writes.

Every check that can refuse an action runs before the first write, so a conflict never
leaves half an action behind. Conflicts are raised as ActionConflict with a ConflictCode and
a sentence a kiosk can show as is.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from central.db.tables import license_plates, lp_genealogy, stock_moves, work_orders
from central.errors import ActionConflict
from central.services.context import ApplyContext, LicensePlate, WorkOrder
from central.services.sscc import allocate_sscc
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
    while True:  # an allocated SSCC could equal a label received from elsewhere: skip it
        number = await allocate_sscc(ctx.conn, company_prefix=ctx.settings.gs1_company_prefix,
                                     extension=ctx.settings.sscc_extension)
        if await ctx.lp(number) is None:
            return number


async def _insert_lp(ctx: ApplyContext, env: Envelope, **values: Any) -> LicensePlate:
    """Create an available LP and put it in the transaction's cache."""
    row = {"lot": None, "expiry": None, **values, "status": "available",
           "last_move_at": None, "created_at": ctx.recorded_at, "created_by_action": env.id}
    lp_id = (await ctx.conn.execute(
        insert(license_plates).values(row).returning(license_plates.c.id))).scalar_one()
    lp = LicensePlate(lp_id, row["number"], row["product_id"], row["qty"], row["uom"],
                      row["lot"], row["expiry"], row["location_id"], "available", None)
    ctx.lps[lp.number] = lp
    return lp


async def _save_lp(ctx: ApplyContext, lp: LicensePlate) -> None:
    """Write an LP's projection (qty, place, status, last move) back to its row."""
    await ctx.conn.execute(update(license_plates).where(license_plates.c.id == lp.id).values(
        qty=lp.qty, location_id=lp.location_id, status=lp.status, last_move_at=lp.last_move_at))


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
    lp = await _insert_lp(ctx, env, number=number, product_id=product.id, qty=body.qty,
                          uom=product.uom, lot=body.lot, expiry=body.expiry,
                          location_id=location_id)
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
    await _save_lp(ctx, lp)
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
    await _save_lp(ctx, lp)
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
    lp = await _insert_lp(ctx, env, number=number, product_id=wo.product_id, qty=body.qty,
                          uom=wo.uom, lot=body.lot, location_id=location_id)
    ctx.ledger(lp=lp, kind="PRODUCE", qty=body.qty, location_id=location_id,
               occurred_at=env.occurred_at, action_id=env.id, work_order_id=wo.id,
               reference=wo.number)
    if parents:
        await ctx.conn.execute(insert(lp_genealogy), [
            {"parent_lp_id": parent, "child_lp_id": lp.id, "kind": "PRODUCE",
             "action_id": env.id} for parent in parents])
    await ctx.conn.execute(update(work_orders).where(work_orders.c.id == wo.id)
                           .values(qty_produced=work_orders.c.qty_produced + body.qty))
    await _start_wo(ctx, wo)
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

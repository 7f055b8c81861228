"""Appliers for LP actions that change where stock is and how it is packaged: receive, move."""

from central.services.appliers.common import (
    MOVE_SUPERSEDED,
    Applied,
    Applier,
    conflict,
    location_id,
    lot_on_hold,
    new_lp,
    new_lp_number,
    refuse_held_to_shipping,
    usable_lp,
)
from central.services.context import ApplyContext
from protocol import ConflictCode, Envelope
from protocol.actions import LpMove, LpReceive
from protocol.types import format_qty


async def receive(ctx: ApplyContext, env: Envelope, body: LpReceive) -> Applied:
    """lp.receive: a new LP at a location, ledger RECEIPT."""
    product = await ctx.refs.product(ctx.conn, env.site, body.item)
    if product is None:
        raise conflict(ConflictCode.PRODUCT_NOT_FOUND,
                       f"Product {body.item} is not known at site {env.site}")
    to_id = await location_id(ctx, env.site, body.location)
    if body.uom != product.uom:
        raise conflict(ConflictCode.UOM_MISMATCH,
                       f"{product.code} is counted in {product.uom}, not {body.uom}")
    number = await new_lp_number(ctx, body.lp)
    held = await lot_on_hold(ctx, env.site, product.id, body.lot)
    lp = new_lp(ctx, env, number=number, product_id=product.id, qty=body.qty,
                uom=product.uom, lot=body.lot, expiry=body.expiry, location_id=to_id,
                status="on_hold" if held else "available")
    ctx.ledger(lp=lp, kind="RECEIPT", qty=body.qty, location_id=to_id,
               occurred_at=env.occurred_at, action_id=env.id, reference=body.po_number)
    note = f" (lot {body.lot} is on quality hold: so is this LP)" if held else ""
    return Applied(f"LP {number} received: {format_qty(body.qty)} {product.uom} of "
                   f"{product.code} at {body.location}{note}")


async def move(ctx: ApplyContext, env: Envelope, body: LpMove) -> Applied:
    """lp.move: TRANSFER_OUT at the old location, TRANSFER_IN at the new; latest device ts wins."""
    lp = await usable_lp(ctx, env.site, body.lp, verb="moved", allow_hold=True)
    to_id = await location_id(ctx, env.site, body.to_location)
    await refuse_held_to_shipping(ctx, lp, to_id)
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


APPLIERS: dict[str, Applier] = {
    "lp.receive": receive,
    "lp.move": move,
}

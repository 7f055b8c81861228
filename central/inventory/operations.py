"""Appliers for LP actions that change where stock is and how it is packaged: receive, move,
split, merge, pack, unpack.

A receipt names its product by code or by the GTIN of a supplier's label
(central/inventory/receipt_product.py). It is dated by its label (expiry, best before, or
production date plus the product's shelf life) or else by its receipt date plus the shelf
life; one that arrived expired is held (central/inventory/expiry.py). One naming a
``po_number`` counts against that purchase order's line (central/purchasing/receipts.py).
Split and merge never take what is reserved of an LP unless forced; forced, the newest
reservations give way.

Packing sets ``parent_lp_id`` (a carton on a pallet). Moving a parent moves everything nested
in it, any depth, in the same action; moving a packed LP on its own takes it off its parent.
"""

from decimal import Decimal

from sqlalchemy import select, update

from central.apply.context import ApplyContext, LicensePlate, Origin
from central.apply.event_facts import by, emit_created, lp_facts
from central.apply.outcome import Applied, Operation, conflict
from central.db.tables import license_plates, products
from central.events.types import EventType
from central.inventory import nesting
from central.inventory.checks import (
    MOVE_SUPERSEDED,
    known_lp,
    location_id,
    lot_on_hold,
    new_lp,
    new_lp_number,
    refuse_held_to_shipping,
    usable_lp,
)
from central.inventory.claims import claims_on, fit_reservations, holders
from central.inventory.expiry import (
    EXPIRED_ON_RECEIPT,
    expired_on_receipt,
    hold_on_receipt,
    receipt_expiry,
)
from central.inventory.receipt_product import receipt_product
from central.purchasing.receipts import count_receipt
from protocol import ConflictCode
from protocol.actions import LpMerge, LpMove, LpPack, LpReceive, LpSplit, LpUnpack
from protocol.types import format_qty


async def receive(ctx: ApplyContext, origin: Origin, body: LpReceive) -> Applied:
    """lp.receive: a new LP at a location, ledger RECEIPT."""
    product = await receipt_product(ctx, origin, body)
    to_id = await location_id(ctx, origin.site, body.location)
    if body.uom is not None and body.uom != product.uom:
        raise conflict(
            ConflictCode.UOM_MISMATCH, f"{product.code} is counted in {product.uom}, not {body.uom}"
        )
    number = await new_lp_number(ctx, origin.site, body.lp)
    held = await lot_on_hold(ctx, origin.site, product.id, body.lot)
    on_po = ""
    if body.po_number is not None:  # the last check: it counts the receipt when it passes
        on_po = await count_receipt(
            ctx, site=origin.site, po_number=body.po_number, product=product, qty=body.qty
        )
    expiry = receipt_expiry(
        origin.occurred_at,
        product.shelf_life_days,
        expiry=body.expiry,
        best_before=body.best_before,
        production_date=body.production_date,
    )
    lp = new_lp(
        ctx,
        origin,
        number=number,
        product_id=product.id,
        qty=body.qty,
        uom=product.uom,
        lot=body.lot,
        expiry=expiry,
        location_id=to_id,
        status="on_hold" if held else "available",
        production_date=body.production_date,
        best_before=body.best_before,
    )
    ctx.ledger(
        lp=lp,
        kind="RECEIPT",
        qty=body.qty,
        location_id=to_id,
        occurred_at=origin.occurred_at,
        action_id=origin.action_id,
        reference=body.po_number,
    )
    note = on_po
    note += f" (lot {body.lot} is on quality hold: so is this LP)" if held else ""
    code = None
    expired = expired_on_receipt(expiry, origin.occurred_at)
    if expired:
        code = EXPIRED_ON_RECEIPT
        note += f" (it expired on {expiry}, before it arrived: on quality hold)"
        lp.status = "on_hold"  # hold_on_receipt records why, below
    await emit_created(ctx, origin, lp, "receive", po_number=body.po_number)
    if expired:
        await hold_on_receipt(ctx, origin, lp)
    return Applied(
        f"LP {number} received: {format_qty(body.qty)} {product.uom} of "
        f"{product.code} at {body.location}{note}",
        code=code,
    )


async def _lp_id(ctx: ApplyContext, lp: LicensePlate) -> int:
    """The LP's id; an LP made earlier in the same batch gets one by flushing."""
    if lp.id is None:
        await ctx.flush()
    assert lp.id is not None
    return lp.id


async def _parent_number(ctx: ApplyContext, lp: LicensePlate) -> str:
    """The number of the LP this one is packed in (it must be packed)."""
    assert lp.parent_lp_id is not None
    for other in ctx.lps.values():
        if other is not None and other.id == lp.parent_lp_id:
            return other.number
    return await nesting.number_of(ctx.conn, lp_id=lp.parent_lp_id) or str(lp.parent_lp_id)


async def _has_contents(ctx: ApplyContext, lp: LicensePlate) -> bool:
    """True when some LP is packed in ``lp``, at one query per batch (moves stay cheap)."""
    if lp.id is None:  # packing into an LP gives it an id first, so nothing is in this one
        return False
    if any(o is not None and o.parent_lp_id == lp.id for o in ctx.lps.values()):
        return True  # packed in this batch, maybe not flushed yet
    if lp.id not in ctx.has_packed:
        ids = {o.id for o in ctx.lps.values() if o is not None and o.id is not None}
        ids -= ctx.has_packed.keys()
        query = (
            select(license_plates.c.parent_lp_id)
            .distinct()
            .where(license_plates.c.parent_lp_id.in_(ids))
        )
        found = set((await ctx.conn.execute(query)).scalars())
        ctx.has_packed.update((i, i in found) for i in ids)
    # A "yes" may be stale (a child unpacked earlier in this batch): _contents looks again
    # after a flush. A "no" is right: whatever was packed since is in ctx.lps, seen above.
    return ctx.has_packed[lp.id]


async def _contents(ctx: ApplyContext, lp: LicensePlate) -> list[LicensePlate]:
    """Every LP nested in ``lp`` (any depth), loaded into the context so changes flush."""
    lp_id = await _lp_id(ctx, lp)
    await ctx.flush()  # packing earlier in this batch must be visible to the query
    numbers = [number for _, number in await nesting.nested_lps(ctx.conn, lp_id=lp_id)]
    await ctx.load_lps((lp.site, number) for number in numbers)  # nested in its own site only
    return [found for number in numbers if (found := await ctx.lp(lp.site, number)) is not None]


async def _location_code(ctx: ApplyContext, loc_id: int) -> str:
    """A location's code by id (cached with its kind)."""
    return (await ctx.location_by_id(loc_id)).code


async def move(ctx: ApplyContext, origin: Origin, body: LpMove) -> Applied:
    """lp.move: TRANSFER_OUT at the old location, TRANSFER_IN at the new; latest device ts wins.

    Everything packed in the LP moves with it; a packed LP moved alone is unpacked."""
    lp = await usable_lp(ctx, origin.site, body.lp, verb="moved", allow_hold=True)
    to_id = await location_id(ctx, origin.site, body.to_location)
    await refuse_held_to_shipping(ctx, lp, to_id)
    inside = await _contents(ctx, lp) if await _has_contents(ctx, lp) else []
    for content in inside:
        await refuse_held_to_shipping(ctx, content, to_id)
    occurred = origin.occurred_at
    if lp.last_move_at is not None and occurred < lp.last_move_at:
        return Applied(
            f"LP {lp.number} was moved by a later scan; this earlier move changes nothing",
            code=MOVE_SUPERSEDED,
        )
    note, was_in = "", None
    from_code = await _location_code(ctx, lp.location_id) if ctx.writes_events else None
    if lp.parent_lp_id is not None:
        was_in = await _parent_number(ctx, lp)
        note = f" (taken off {was_in})"
        lp.parent_lp_id = None
    for moved in (lp, *inside):
        if moved.qty > 0:
            ctx.ledger(
                lp=moved,
                kind="TRANSFER_OUT",
                qty=-moved.qty,
                location_id=moved.location_id,
                occurred_at=occurred,
                action_id=origin.action_id,
            )
            ctx.ledger(
                lp=moved,
                kind="TRANSFER_IN",
                qty=moved.qty,
                location_id=to_id,
                occurred_at=occurred,
                action_id=origin.action_id,
            )
        moved.location_id, moved.last_move_at = to_id, occurred
        ctx.save_lp(moved)
    if inside:
        note += f" with the {len(inside)} LP(s) packed in it"
    facts = await lp_facts(ctx, lp)
    ctx.emit(
        EventType.LP_MOVED,
        origin,
        lp.number,
        {
            **facts,
            "from": from_code,
            "to": facts["location"],
            "unpacked_from": was_in,
            "lps": [c.number for c in inside],
            **by(origin),
        },
    )
    return Applied(f"LP {lp.number} moved to {body.to_location}{note}")


async def _refuse_reserved(ctx: ApplyContext, lp: LicensePlate, qty: Decimal, verb: str) -> None:
    """Taking ``qty`` off an LP may not touch what is reserved of it (for work orders or
    sales order lines)."""
    if ctx.force:
        return
    claims = await claims_on(ctx, lp)
    held = sum((c.qty for c in claims), Decimal(0))
    if held and qty > lp.qty - held:
        raise conflict(
            ConflictCode.LP_RESERVED,
            f"LP {lp.number}: {format_qty(held)} {lp.uom} of it is reserved for "
            f"{holders(claims)}; it cannot be {verb}",
        )


async def split(ctx: ApplyContext, origin: Origin, body: LpSplit) -> Applied:
    """lp.split: part of an LP becomes a new LP (same product, lot, expiry, place)."""
    lp = await usable_lp(ctx, origin.site, body.lp, verb="split")
    await _refuse_reserved(ctx, lp, body.qty, f"split by {format_qty(body.qty)} {lp.uom}")
    if body.qty >= lp.qty:
        raise conflict(
            ConflictCode.QTY_EXCEEDS_LP,
            f"Cannot split {format_qty(body.qty)} {lp.uom} off LP {lp.number}: it "
            f"holds {format_qty(lp.qty)} {lp.uom}, and a split must leave some",
        )
    child = await split_off(ctx, origin, lp, body.qty, new_number=body.new_lp)
    await fit_reservations(ctx, lp, action_id=origin.action_id, occurred_at=origin.occurred_at)
    facts = await lp_facts(ctx, lp)
    ctx.emit(
        EventType.LP_SPLIT,
        origin,
        lp.number,
        {
            **facts,
            "child": child.number,
            "split_qty": body.qty,
            "lps": [child.number],
            **by(origin),
        },
    )
    return Applied(
        f"LP {child.number} split off LP {lp.number}: {format_qty(body.qty)} {lp.uom} "
        f"({format_qty(lp.qty)} {lp.uom} left)"
    )


async def split_off(
    ctx: ApplyContext,
    origin: Origin,
    lp: LicensePlate,
    qty: Decimal,
    *,
    new_number: str | None,
    how: str = "split",
) -> LicensePlate:
    """Take ``qty`` off ``lp`` as a new child LP at its place (``new_number``, else an SSCC):
    SPLIT_OUT/SPLIT_IN rows and a SPLIT genealogy link. The caller has checked the quantity
    and settles the parent's reservations (a split gives back the excess, a pick moves its
    own reservation to the child)."""
    number = await new_lp_number(ctx, origin.site, new_number)
    parent_id = await _lp_id(ctx, lp)
    child = new_lp(
        ctx,
        origin,
        number=number,
        product_id=lp.product_id,
        qty=qty,
        uom=lp.uom,
        location_id=lp.location_id,
        lot=lp.lot,
        expiry=lp.expiry,
        status=lp.status,
        production_date=lp.production_date,
        best_before=lp.best_before,
    )
    ctx.ledger(
        lp=lp,
        kind="SPLIT_OUT",
        qty=-qty,
        location_id=lp.location_id,
        occurred_at=origin.occurred_at,
        action_id=origin.action_id,
        reference=number,
    )
    ctx.ledger(
        lp=child,
        kind="SPLIT_IN",
        qty=qty,
        location_id=lp.location_id,
        occurred_at=origin.occurred_at,
        action_id=origin.action_id,
        reference=lp.number,
    )
    ctx.link(source_id=parent_id, target=child, kind="SPLIT", action_id=origin.action_id)
    lp.qty -= qty
    ctx.save_lp(lp)
    await emit_created(ctx, origin, child, how, parent=lp.number)
    return child


async def _merge_refusal(ctx: ApplyContext, lp: LicensePlate, into: LicensePlate) -> str | None:
    """Why these two LPs may not become one, or None."""
    if lp.number == into.number:
        return f"LP {lp.number} cannot be merged into itself"
    if lp.product_id != into.product_id:
        return f"LP {lp.number} and LP {into.number} hold different products"
    row = (
        await ctx.conn.execute(
            select(products.c.code, products.c.allow_merge).where(products.c.id == lp.product_id)
        )
    ).one()
    if not row.allow_merge:
        return f"{row.code} does not allow merging LPs"
    if lp.lot != into.lot:
        return (
            f"LP {lp.number} (lot {lp.lot or 'none'}) and LP {into.number} "
            f"(lot {into.lot or 'none'}) are different lots"
        )
    return None


async def merge(ctx: ApplyContext, origin: Origin, body: LpMerge) -> Applied:
    """lp.merge: the whole of one LP into another of the same product and lot."""
    lp = await usable_lp(ctx, origin.site, body.lp, verb="merged")
    into = await usable_lp(ctx, origin.site, body.into, verb="merged into")
    if (why := await _merge_refusal(ctx, lp, into)) is not None:
        raise conflict(ConflictCode.MERGE_NOT_ALLOWED, why)
    if lp.uom != into.uom:
        raise conflict(
            ConflictCode.UOM_MISMATCH,
            f"LP {lp.number} is in {lp.uom}, LP {into.number} in {into.uom}",
        )
    await _refuse_reserved(ctx, lp, lp.qty, "merged away")
    if await _has_contents(ctx, lp) and await _contents(ctx, lp):
        raise conflict(
            ConflictCode.LP_PACKED,
            f"LP {lp.number} has LPs packed in it; unpack them before merging it",
        )
    qty, lp_id = lp.qty, await _lp_id(ctx, lp)
    ctx.ledger(
        lp=lp,
        kind="MERGE_OUT",
        qty=-qty,
        location_id=lp.location_id,
        occurred_at=origin.occurred_at,
        action_id=origin.action_id,
        reference=into.number,
    )
    ctx.ledger(
        lp=into,
        kind="MERGE_IN",
        qty=qty,
        location_id=into.location_id,
        occurred_at=origin.occurred_at,
        action_id=origin.action_id,
        reference=lp.number,
    )
    ctx.link(source_id=lp_id, target=into, kind="MERGE", action_id=origin.action_id)
    note = ""
    if lp.status == "on_hold" and into.status == "available":
        # Only a merge forced over the hold gets here: held stock stays held in the LP it went
        # into, as a carton packed onto a held pallet does; releasing that LP frees it.
        into.status, note = "on_hold", f" (LP {lp.number} was on quality hold: so is it now)"
    lp.qty, lp.status, lp.parent_lp_id = Decimal(0), "consumed", None
    into.qty += qty
    ctx.save_lp(lp)
    await fit_reservations(ctx, lp, action_id=origin.action_id, occurred_at=origin.occurred_at)
    ctx.save_lp(into)
    if lp.expiry is not None and (into.expiry is None or lp.expiry < into.expiry):
        into.expiry = lp.expiry  # the merged stock is only as good as its oldest part
        if into.id is not None:  # a new LP is inserted with it at the next flush
            await ctx.conn.execute(
                update(license_plates)
                .where(license_plates.c.id == into.id)
                .values(expiry=into.expiry)
            )
    ctx.emit(
        EventType.LP_MERGED,
        origin,
        lp.number,
        {
            **(await lp_facts(ctx, lp)),
            "merged_qty": qty,
            "into": into.number,
            "into_qty": into.qty,
            "into_status": into.status,
            "lps": [into.number],
            **by(origin),
        },
    )
    return Applied(
        f"LP {lp.number} merged into LP {into.number}: {format_qty(into.qty)} {into.uom} now{note}"
    )


async def pack(ctx: ApplyContext, origin: Origin, body: LpPack) -> Applied:
    """lp.pack: put an LP into a parent LP at the same location (a carton onto a pallet)."""
    lp = await usable_lp(ctx, origin.site, body.lp, verb="packed", allow_hold=True)
    parent = await usable_lp(ctx, origin.site, body.parent, verb="packed into", allow_hold=True)
    if lp.parent_lp_id is not None:
        current = await _parent_number(ctx, lp)
        if current == parent.number:
            return Applied(f"LP {lp.number} is already packed in LP {parent.number}")
        raise conflict(
            ConflictCode.LP_PACKED, f"LP {lp.number} is packed in LP {current}; unpack it first"
        )
    if parent.location_id != lp.location_id:
        here = await _location_code(ctx, lp.location_id)
        there = await _location_code(ctx, parent.location_id)
        raise conflict(
            ConflictCode.LOCATION_MISMATCH,
            f"LP {lp.number} is at {here} but LP {parent.number} is at {there}; "
            "both must be at the same location to pack",
        )
    lp_id, parent_id = await _lp_id(ctx, lp), await _lp_id(ctx, parent)
    if parent_id == lp_id or parent.number in {c.number for c in await _contents(ctx, lp)}:
        raise conflict(
            ConflictCode.PACK_CYCLE,
            f"LP {parent.number} is LP {lp.number} or packed inside it; "
            "an LP cannot be packed into itself",
        )
    lp.parent_lp_id = parent_id
    note = ""
    if parent.status == "on_hold" and lp.status == "available":
        # A hold on a pallet covers everything on it, cartons packed later included; releasing
        # the pallet's hold frees them again.
        lp.status, note = "on_hold", f" (LP {parent.number} is on quality hold: so is it now)"
    ctx.save_lp(lp)
    # In genealogy the carton goes into the pallet, as an LP merged away goes into another.
    ctx.link(source_id=lp_id, target=parent, kind="PACK", action_id=origin.action_id)
    facts = await lp_facts(ctx, lp)
    ctx.emit(
        EventType.LP_PACKED,
        origin,
        lp.number,
        {**facts, "parent": parent.number, "lps": [parent.number], **by(origin)},
    )
    return Applied(f"LP {lp.number} packed into LP {parent.number}{note}")


async def unpack(ctx: ApplyContext, origin: Origin, body: LpUnpack) -> Applied:
    """lp.unpack: take an LP out of the parent it is packed in."""
    lp = await known_lp(ctx, origin.site, body.lp)
    if lp.parent_lp_id is None:
        raise conflict(ConflictCode.LP_NOT_PACKED, f"LP {lp.number} is not packed in any LP")
    current = await _parent_number(ctx, lp)
    if body.parent is not None and body.parent != current:
        await known_lp(ctx, origin.site, body.parent)
        raise conflict(
            ConflictCode.LP_NOT_PACKED,
            f"LP {lp.number} is packed in LP {current}, not in LP {body.parent}",
        )
    lp.parent_lp_id = None
    ctx.save_lp(lp)
    facts = await lp_facts(ctx, lp)
    ctx.emit(
        EventType.LP_UNPACKED,
        origin,
        lp.number,
        {**facts, "parent": current, "lps": [current], **by(origin)},
    )
    return Applied(f"LP {lp.number} taken out of LP {current}")


ACTIONS: dict[str, Operation] = {
    "lp.receive": receive,
    "lp.move": move,
    "lp.split": split,
    "lp.merge": merge,
    "lp.pack": pack,
    "lp.unpack": unpack,
}

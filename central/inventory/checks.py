"""The checks and builders inventory operations share: LPs that exist and may be used,
locations, new LP numbers, lots on hold.

Each check runs before an operation's first write (see central/apply/outcome.py). A check
that ``ctx.force`` waives for a held LP reports the holds it went over instead of refusing.
"""

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from central.apply.context import ApplyContext, LicensePlate, Origin
from central.apply.outcome import conflict
from central.db.tables import quality_holds, stock_moves, work_orders
from central.inventory.holds import covering_holds
from protocol import ConflictCode

# Applied, but changed nothing: a newer move of the same LP was applied already.
MOVE_SUPERSEDED = "MOVE_SUPERSEDED"


async def consumed_into(ctx: ApplyContext, lp: LicensePlate) -> str | None:
    """The number of the work order that consumed the last of an LP, if the ledger says."""
    await ctx.flush()
    query = (
        select(work_orders.c.number)
        .join(stock_moves, stock_moves.c.work_order_id == work_orders.c.id)
        .where(stock_moves.c.lp_id == lp.id, stock_moves.c.kind == "CONSUME")
        .order_by(stock_moves.c.id.desc())
        .limit(1)
    )
    return (await ctx.conn.execute(query)).scalar_one_or_none()


async def known_lp(ctx: ApplyContext, site: str, number: str) -> LicensePlate:
    """The LP at this site, or LP_NOT_FOUND (an LP of another site is not visible here)."""
    lp = await ctx.lp(site, number)
    if lp is None:
        raise conflict(ConflictCode.LP_NOT_FOUND, f"LP {number} is not known at site {site}")
    return lp


async def usable_lp(
    ctx: ApplyContext, site: str, number: str, *, verb: str, allow_hold: bool = False
) -> LicensePlate:
    """The LP, or a conflict when it is unknown, consumed, shipped or (unless allowed) on hold."""
    lp = await known_lp(ctx, site, number)
    if ctx.force:
        if lp.status == "on_hold" and not allow_hold:
            await went_over_hold(ctx, lp)
        return lp
    if lp.status == "consumed":
        wo = await consumed_into(ctx, lp)
        into = f" into {wo}" if wo else ""
        raise conflict(
            ConflictCode.LP_ALREADY_CONSUMED,
            f"LP {number} was already consumed{into}; it cannot be {verb}",
        )
    if lp.status == "shipped":
        raise conflict(ConflictCode.LP_SHIPPED, f"LP {number} was shipped; it cannot be {verb}")
    if lp.status == "on_hold" and not allow_hold:
        raise conflict(
            ConflictCode.LP_ON_HOLD, f"LP {number} is on quality hold; it cannot be {verb}"
        )
    return lp


async def location_id(ctx: ApplyContext, site: str, code: str) -> int:
    """A location id at the envelope's site, or a LOCATION_NOT_FOUND conflict."""
    found = await ctx.location(site, code)
    if found is None:
        raise conflict(
            ConflictCode.LOCATION_NOT_FOUND, f"Location {code} does not exist at site {site}"
        )
    return found.id


async def new_lp_number(ctx: ApplyContext, site: str, wanted: str | None) -> str:
    """The label's number when ``site`` has no LP with it (else a conflict), or a freshly
    allocated SSCC. Numbers are per site: another plant's LP never blocks this one's."""
    if wanted is not None:
        if await ctx.lp(site, wanted) is not None:
            raise conflict(
                ConflictCode.LP_ALREADY_EXISTS, f"LP {wanted} already exists at site {site}"
            )
        return wanted
    return await ctx.next_sscc(site)


def new_lp(
    ctx: ApplyContext,
    origin: Origin,
    *,
    number: str,
    product_id: int,
    qty: Decimal,
    uom: str,
    location_id: int,
    lot: str | None = None,
    expiry: date | None = None,
    status: str = "available",
    production_date: date | None = None,
    best_before: date | None = None,
) -> LicensePlate:
    """A new LP at the envelope's site, written at the next flush."""
    lp = LicensePlate(
        None,
        origin.site,
        number,
        product_id,
        qty,
        uom,
        lot,
        expiry,
        location_id,
        status,
        None,
        production_date=production_date,
        best_before=best_before,
    )
    ctx.add_lp(lp, created_at=ctx.recorded_at, created_by_action=origin.action_id)
    return lp


async def lot_on_hold(ctx: ApplyContext, site: str, product_id: int, lot: str | None) -> bool:
    """True when an active hold covers this lot of the product (or this lot of any product):
    an LP received or made with that lot starts on hold."""
    if lot is None:
        return False
    query = (
        select(quality_holds.c.id)
        .where(
            quality_holds.c.site == site,
            quality_holds.c.status == "active",
            quality_holds.c.lot == lot,
            quality_holds.c.lp_id.is_(None),
            (quality_holds.c.product_id == product_id) | quality_holds.c.product_id.is_(None),
        )
        .limit(1)
    )
    return (await ctx.conn.execute(query)).first() is not None


async def went_over_hold(ctx: ApplyContext, lp: LicensePlate) -> None:
    """Report that a forced action uses a held LP as the hold forbids: the holds covering it
    go into ``ctx.over_holds`` (none when the LP is on hold with nothing covering it)."""
    await ctx.flush()  # the LP and its packing as this transaction sees them
    covers = (await covering_holds(ctx.conn, [lp])).get(lp.number, [])
    ctx.over_holds[lp.number] = sorted({cover.hold_id for cover in covers})


async def refuse_held_to_shipping(ctx: ApplyContext, lp: LicensePlate, to_id: int) -> None:
    """A held LP may move (to quarantine, say) but never to a shipping location."""
    if lp.status != "on_hold":
        return
    if (await ctx.location_by_id(to_id)).kind == "shipping":
        if ctx.force:
            await went_over_hold(ctx, lp)
            return
        raise conflict(
            ConflictCode.LP_ON_HOLD,
            f"LP {lp.number} is on quality hold; it cannot go to a shipping location",
        )

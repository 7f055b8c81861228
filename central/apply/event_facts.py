"""What an event's payload tells of the things it names, built from what the apply path holds.

A listener should not have to call back to understand an event, so LP events carry the LP's
product, lot, quantity, place and status as they are after the change. Everything comes from
the transaction's own LP objects and the shared reference cache (products and locations by
id): building a payload costs no query once the cache is warm. With the outbox off nothing
is built at all, so ``IOE_OUTBOX=0`` is the true baseline of the outbox's cost.
"""

from typing import Any

from central.apply.context import ApplyContext, LicensePlate, Origin
from central.events.types import EventType


async def lp_facts(ctx: ApplyContext, lp: LicensePlate) -> dict[str, Any]:
    """An LP as it is now: product code, lot, expiry, quantity, unit, location code, status
    (nothing when the outbox is off: no event will carry it)."""
    if not ctx.writes_events:
        return {}
    product = await ctx.product_by_id(lp.product_id)
    location = await ctx.location_by_id(lp.location_id)
    return {
        "product": product.code,
        "lot": lp.lot,
        "expiry": lp.expiry,
        "qty": lp.qty,
        "uom": lp.uom,
        "location": location.code,
        "status": lp.status,
    }


def by(origin: Origin) -> dict[str, Any]:
    """Who caused a change: the operator (or API caller) and, from the floor, the station."""
    return {"operator": origin.by, "station": origin.station}


async def emit_created(
    ctx: ApplyContext, origin: Origin, lp: LicensePlate, how: str, **extra: Any
) -> None:
    """Buffer ``lp.created`` for a new LP; ``how`` says what made it (receive, output, split,
    pick)."""
    if not ctx.writes_events:
        return
    facts = await lp_facts(ctx, lp)
    ctx.emit(EventType.LP_CREATED, origin, lp.number, {**facts, "how": how, **extra, **by(origin)})

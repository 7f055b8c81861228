"""What "available" means, spelled once: /inventory/available and work-order release share it.

An LP's stock is **on hand** while the LP is ``available`` or ``on_hold`` (consumed and
shipped LPs hold none). Of what an LP has on hand, exactly one reason excludes each part, in
this order:

1. ``on_hold``: the whole LP while it is on quality hold;
2. ``expired``: the whole LP when its expiry is before today (an expiry of today is still
   good; an LP without expiry never expires);
3. ``reserved``: the sum of the LP's active reservations (never more than the LP holds);
4. what is left is ``available``: it may be reserved for a work order or consumed freely.

So ``on_hand = available + reserved + expired + on_hold`` for every LP and every sum of LPs.
"Today" is central's date (UTC) when a list is read, and the day of the release's central
time when a work order reserves. Reservations of several work orders may share one LP: an
LP's reserved quantity is a sum, not a status.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import license_plates, locations, reservations
from central.db.types import Qty

ON_HAND = ("available", "on_hold")  # LP statuses whose stock counts at all

lp = license_plates


def active_reserved() -> Any:
    """Active reservations summed per LP (``lp_id``, ``qty``), a subquery to outer-join."""
    return (
        select(reservations.c.lp_id, func.sum(reservations.c.qty).label("qty"))
        .where(reservations.c.status == "active")
        .group_by(reservations.c.lp_id)
        .subquery("reserved")
    )


def parts(today: date, reserved_qty: Any) -> dict[str, Any]:
    """Per-LP SQL expressions of the four parts of what an LP has on hand, by the rules above;
    ``reserved_qty`` is the LP's active reservations (NULL when it has none)."""
    held = lp.c.status == "on_hold"
    expired = and_(lp.c.status == "available", lp.c.expiry.is_not(None), lp.c.expiry < today)
    claimed = func.coalesce(reserved_qty, 0)
    reserved = case((or_(held, expired), 0), (claimed > lp.c.qty, lp.c.qty), else_=claimed)
    split = {
        "on_hold": case((held, lp.c.qty), else_=0),
        "expired": case((expired, lp.c.qty), else_=0),
        "reserved": reserved,
        "available": case((or_(held, expired), 0), else_=lp.c.qty - reserved),
    }
    return {name: type_coerce(expr, Qty) for name, expr in split.items()}  # read as Decimal


@dataclass
class FreeLp:
    """An LP stock can be reserved from: its number, product, expiry, the free quantity and
    where it is."""

    number: str
    product_id: int
    expiry: date | None
    free: Decimal
    location_id: int = 0


async def reservable(
    conn: AsyncConnection,
    *,
    site: str,
    product_ids: set[int],
    today: date,
    location_kinds: tuple[str, ...] | None = None,
    loose_only: bool = False,
) -> list[FreeLp]:
    """LPs of these products at ``site`` with an available part (by ``parts``), FEFO
    (earliest expiry first, undated last, then the oldest LP), each with that part.

    On PostgreSQL the LPs that could have one (status ``available``) are row-locked first,
    and their parts are read after the lock is held, so a release that waited for another
    sees the reservations that one made (every writer of an LP's reservations holds the LP's
    row lock). Packed LPs count too, unless ``loose_only``; ``location_kinds`` keeps to LPs
    at locations of those kinds (a sales order picks from storage, not from a line).
    """
    locked = (
        select(lp.c.id)
        .where(lp.c.site == site, lp.c.product_id.in_(product_ids), lp.c.status == "available")
        .order_by(lp.c.expiry.asc().nulls_last(), lp.c.created_at, lp.c.id)
        .with_for_update(of=lp)
    )
    if loose_only:
        locked = locked.where(lp.c.parent_lp_id.is_(None))
    if location_kinds is not None:
        locked = locked.where(
            lp.c.location_id.in_(
                select(locations.c.id).where(
                    locations.c.site == site, locations.c.kind.in_(location_kinds)
                )
            )
        )
    ids = list((await conn.execute(locked)).scalars())
    if not ids:
        return []
    claimed = active_reserved()
    free = parts(today, claimed.c.qty)["available"]
    query = (
        select(lp.c.number, lp.c.product_id, lp.c.expiry, free.label("free"), lp.c.location_id)
        .outerjoin(claimed, claimed.c.lp_id == lp.c.id)
        .where(lp.c.id.in_(ids))
        .order_by(lp.c.expiry.asc().nulls_last(), lp.c.created_at, lp.c.id)
    )
    return [
        FreeLp(row.number, row.product_id, row.expiry, row.free, row.location_id)
        for row in await conn.execute(query)
        if row.free > 0
    ]

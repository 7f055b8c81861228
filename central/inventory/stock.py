"""Available inventory: what is on hand per site, product, location and lot, and why any of it
is not available (central/inventory/availability.py says what counts as available).

Computed from the LP projection, which the consistency check (central/inventory/consistency.py)
proves against the ledger; summing LPs is far cheaper than summing the whole ledger.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.clock import now
from central.db.rows import as_dict, page
from central.db.tables import license_plates, locations, products
from central.inventory.availability import ON_HAND, active_reserved, parts


@dataclass(frozen=True, slots=True)
class AvailableStock:
    """Stock of one product, lot and location: on hand, what of it is available, and what is
    excluded, by reason (on hold, expired, reserved)."""

    site: str
    product: str
    uom: str
    location: str
    lot: str | None
    on_hand: Decimal
    available: Decimal
    reserved: Decimal
    on_hold: Decimal
    expired: Decimal
    lps: int
    earliest_expiry: date | None


def _total(name: str, part: Any) -> Any:
    """SUM of one part over a group (0 when none)."""
    return func.coalesce(func.sum(part), 0).label(name)  # typed Qty: read back as Decimal


async def available(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    product: str | None = None,
    location: str | None = None,
    lot: str | None = None,
    limit: int = 1000,
    offset: int = 0,
    today: date | None = None,
) -> list[AvailableStock]:
    """On hand, available, reserved, on-hold and expired quantities per (site, product,
    location, lot), as of ``today`` (central's date unless given)."""
    limit, offset = page(limit, offset)
    claimed = active_reserved()
    split = parts(today or now().date(), claimed.c.qty)
    query = (
        select(
            license_plates.c.site,
            products.c.code.label("product"),
            products.c.uom,
            locations.c.code.label("location"),
            license_plates.c.lot,
            func.sum(license_plates.c.qty).label("on_hand"),
            *(_total(name, split[name]) for name in ("available", "reserved", "on_hold")),
            _total("expired", split["expired"]),
            func.count().label("lps"),
            func.min(license_plates.c.expiry).label("earliest_expiry"),
        )
        .join(products, products.c.id == license_plates.c.product_id)
        .join(locations, locations.c.id == license_plates.c.location_id)
        .outerjoin(claimed, claimed.c.lp_id == license_plates.c.id)
        .where(license_plates.c.status.in_(ON_HAND))
        .group_by(
            license_plates.c.site,
            products.c.code,
            products.c.uom,
            locations.c.code,
            license_plates.c.lot,
        )
        .order_by(license_plates.c.site, products.c.code, locations.c.code, license_plates.c.lot)
    )
    if sites is not None and product is None and location is None:
        query = query.where(license_plates.c.site.in_(sites))
    # Codes are resolved to ids first, within the sites: a seek on the (site, code) unique
    # index, then on the LP indexes by product or location. Filtering the joined code instead
    # let SQLite start from a scan of every LP; so did filtering the LPs' own site next to
    # the ids (SQLite preferred the (site, number) index, every LP of the site), and a
    # product or location of those sites already limits the LPs to them.
    for table, column, code in (
        (products, license_plates.c.product_id, product),
        (locations, license_plates.c.location_id, location),
    ):
        if code is not None:
            ids = select(table.c.id).where(table.c.code == code)
            if sites is not None:
                ids = ids.where(table.c.site.in_(sites))
            query = query.where(column.in_(ids.scalar_subquery()))
    if lot is not None:
        query = query.where(license_plates.c.lot == lot)
    return [
        AvailableStock(**as_dict(row))
        for row in await conn.execute(query.limit(limit).offset(offset))
    ]

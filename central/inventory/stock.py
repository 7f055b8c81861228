"""Available inventory: what is on hand per site, product, location and lot, by LP status.

Computed from the LP projection, which the consistency check (central/inventory/consistency.py)
proves against the ledger; summing LPs is far cheaper than summing the whole ledger.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.rows import as_dict, page
from central.db.tables import license_plates, locations, products

ON_HAND = ("available", "reserved", "on_hold")  # consumed and shipped LPs hold no stock


@dataclass(frozen=True, slots=True)
class AvailableStock:
    """Stock of one product, lot and location: on hand, split by LP status."""

    site: str
    product: str
    uom: str
    location: str
    lot: str | None
    on_hand: Decimal
    available: Decimal
    reserved: Decimal
    on_hold: Decimal
    lps: int
    earliest_expiry: date | None


def _qty_with(status: str) -> Any:
    """SUM of the qty of LPs in one status (0 when none)."""
    picked = case((license_plates.c.status == status, license_plates.c.qty), else_=0)
    return func.coalesce(func.sum(picked), 0).label(status)  # typed Qty: read back as Decimal


async def available(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    product: str | None = None,
    location: str | None = None,
    lot: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[AvailableStock]:
    """On hand, available, reserved and on-hold quantities per (site, product, location, lot)."""
    limit, offset = page(limit, offset)
    query = (
        select(
            license_plates.c.site,
            products.c.code.label("product"),
            products.c.uom,
            locations.c.code.label("location"),
            license_plates.c.lot,
            func.sum(license_plates.c.qty).label("on_hand"),
            _qty_with("available"),
            _qty_with("reserved"),
            _qty_with("on_hold"),
            func.count().label("lps"),
            func.min(license_plates.c.expiry).label("earliest_expiry"),
        )
        .join(products, products.c.id == license_plates.c.product_id)
        .join(locations, locations.c.id == license_plates.c.location_id)
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
    if sites is not None:
        query = query.where(license_plates.c.site.in_(sites))
    # Codes are resolved to ids first, within the sites: a seek on the (site, code) unique
    # index, then on the LP indexes by product or location. Filtering the joined code instead
    # let SQLite start from a scan of every LP.
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

"""Which active quality holds cover an LP: its own, one on an LP it is packed in (any depth),
or one on its lot.

A release asks so it frees only LPs nothing holds any more; a forced action ("apply anyway")
asks so it can name the holds it went over, which only the quality role may do.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.apply.context import LicensePlate
from central.db.tables import license_plates, products, quality_holds
from central.inventory import nesting


@dataclass(frozen=True, slots=True)
class Cover:
    """An active hold that covers an LP, and why, as a kiosk can show it."""

    hold_id: int
    why: str


async def covering_holds(conn: AsyncConnection, lps: list[LicensePlate]) -> dict[str, list[Cover]]:
    """The active holds covering each LP (by number), the most direct first: the LP's own,
    then those of LPs it is packed in, then those of its lot. LPs must be flushed (have ids)."""
    ids = [lp.id for lp in lps if lp.id is not None]
    if not ids:
        return {}
    ancestors = await nesting.ancestor_ids(conn, ids)
    on_lps = (
        await conn.execute(
            select(quality_holds.c.id, quality_holds.c.lp_id, license_plates.c.number)
            .join(license_plates, license_plates.c.id == quality_holds.c.lp_id)
            .where(
                quality_holds.c.status == "active",
                quality_holds.c.lp_id.in_(ids + [a for up in ancestors.values() for a in up]),
            )
            .order_by(quality_holds.c.id)
        )
    ).all()
    lots = {lp.lot for lp in lps if lp.lot}
    on_lots = (
        (
            await conn.execute(
                select(
                    quality_holds.c.id,
                    quality_holds.c.site,
                    quality_holds.c.lot,
                    quality_holds.c.product_id,
                    products.c.code,
                )
                .outerjoin(products, products.c.id == quality_holds.c.product_id)
                .where(
                    quality_holds.c.site.in_({lp.site for lp in lps}),
                    quality_holds.c.status == "active",
                    quality_holds.c.lp_id.is_(None),
                    quality_holds.c.lot.in_(lots),
                )
                .order_by(quality_holds.c.id)
            )
        ).all()
        if lots
        else []
    )
    covers: dict[str, list[Cover]] = {}
    for lp in lps:
        found = covers.setdefault(lp.number, [])
        found += [Cover(h.id, "it has its own active hold") for h in on_lps if h.lp_id == lp.id]
        for parent in ancestors.get(lp.id or 0, []):
            found += [
                Cover(h.id, f"it is packed in held LP {h.number}")
                for h in on_lps
                if h.lp_id == parent
            ]
        for h in on_lots:
            if h.site == lp.site and h.lot == lp.lot and h.product_id in (None, lp.product_id):
                of = f" of {h.code}" if h.code else ""
                found.append(Cover(h.id, f"lot {h.lot}{of} is still held"))
    return covers

"""Expiry is a rule, not a field: a product's ``shelf_life_days`` dates what it becomes.

Every LP a work order outputs expires ``shelf_life_days`` after its production date (the
device date of the ``wo.output``). A receipt takes the first of, from its supplier's label:
its expiry (AI 17, ``expiry``); its best-before date (AI 15, ``best_before``), because the
supplier's date beats any guess and FEFO should follow what the label says; its production
date (AI 11) plus the shelf life, as for stock made here. Without any of them, it expires
the shelf life after its receipt date (the device date of the ``lp.receive``). A product
without a shelf life makes LPs without expiry, which never expire, unless a label dates them.
FEFO and "available" (central/inventory/availability.py) then work the same for raw
material, intermediates and finished goods.

An LP received already expired (its expiry, however found, before the receipt date) is taken
in, as everything that physically arrived is, but under a quality hold whose reason is
``EXPIRED_ON_RECEIPT``, released the normal way.
"""

from datetime import date, datetime, timedelta

from sqlalchemy import insert

from central.apply.context import ApplyContext, LicensePlate, Origin
from central.db.tables import quality_holds
from central.events.types import EventType

EXPIRED_ON_RECEIPT = "EXPIRED_ON_RECEIPT"


def expiry_from(made: datetime, shelf_life_days: int | None) -> date | None:
    """The expiry of stock made or received at ``made`` (device time): its date plus the
    shelf life, or None when the product has none."""
    if shelf_life_days is None:
        return None
    return made.date() + timedelta(days=shelf_life_days)


def receipt_expiry(
    received: datetime,
    shelf_life_days: int | None,
    *,
    expiry: date | None = None,
    best_before: date | None = None,
    production_date: date | None = None,
) -> date | None:
    """The expiry of an LP received at ``received`` (device time), from its label's dates
    and the product's shelf life (the order is the module docstring's)."""
    if expiry is not None:
        return expiry
    if best_before is not None:
        return best_before
    if production_date is not None and shelf_life_days is not None:
        return production_date + timedelta(days=shelf_life_days)
    return expiry_from(received, shelf_life_days)


def expired_on_receipt(expiry: date | None, received: datetime) -> bool:
    """True when a receipt's expiry is before the day it was received."""
    return expiry is not None and expiry < received.date()


async def hold_on_receipt(ctx: ApplyContext, origin: Origin, lp: LicensePlate) -> None:
    """Put an LP just received already expired on an ``EXPIRED_ON_RECEIPT`` hold: a hold row
    like any other (listed, and released, through the quality API or ``qc.release``), caused
    by the receipt. A new LP has nothing packed in it, so the hold covers it alone."""
    await ctx.flush()  # the new LP gets its id
    assert lp.id is not None
    hold_id = (
        await ctx.conn.execute(
            insert(quality_holds)
            .values(
                site=lp.site,
                lp_id=lp.id,
                product_id=lp.product_id,
                reason=EXPIRED_ON_RECEIPT,
                status="active",
                held_by=origin.by,
                held_at=origin.occurred_at,
                hold_cause=origin.action_id,
            )
            .returning(quality_holds.c.id)
        )
    ).scalar_one()
    lp.status = "on_hold"
    ctx.save_lp(lp)
    product = await ctx.product_by_id(lp.product_id)
    ctx.emit(
        EventType.QUALITY_HOLD,
        origin,
        lp.number,
        {
            "hold_id": hold_id,
            "hold_ids": [hold_id],
            "lp": lp.number,
            "product": product.code,
            "lot": lp.lot,
            "reason": EXPIRED_ON_RECEIPT,
            "lps": [lp.number],
            "operator": origin.by,
        },
    )

"""Expiry is a rule, not a field: a product's ``shelf_life_days`` dates what it becomes.

Every LP a work order outputs expires ``shelf_life_days`` after its production date (the
device date of the ``wo.output``); every receipt without an expiry of its own expires that
long after its receipt date (the device date of the ``lp.receive``). A receipt that carries an
expiry (the supplier's label) keeps it. A product without a shelf life makes LPs without
expiry, which never expire. FEFO and "available" (central/inventory/availability.py) then
work the same for raw material, intermediates and finished goods.

An LP received already expired (its label's expiry before the receipt date) is taken in, as
everything that physically arrived is, but under a quality hold whose reason is
``EXPIRED_ON_RECEIPT``, released the normal way.
"""

from datetime import date, datetime, timedelta

from sqlalchemy import insert

from central.apply.context import ApplyContext, LicensePlate, Origin
from central.db.tables import quality_holds

EXPIRED_ON_RECEIPT = "EXPIRED_ON_RECEIPT"


def expiry_from(made: datetime, shelf_life_days: int | None) -> date | None:
    """The expiry of stock made or received at ``made`` (device time): its date plus the
    shelf life, or None when the product has none."""
    if shelf_life_days is None:
        return None
    return made.date() + timedelta(days=shelf_life_days)


def expired_on_receipt(expiry: date | None, received: datetime) -> bool:
    """True when a receipt's expiry is before the day it was received."""
    return expiry is not None and expiry < received.date()


async def hold_on_receipt(ctx: ApplyContext, origin: Origin, lp: LicensePlate) -> None:
    """Put an LP just received already expired on an ``EXPIRED_ON_RECEIPT`` hold: a hold row
    like any other (listed, and released, through the quality API or ``qc.release``), caused
    by the receipt. A new LP has nothing packed in it, so the hold covers it alone."""
    await ctx.flush()  # the new LP gets its id
    assert lp.id is not None
    await ctx.conn.execute(
        insert(quality_holds).values(
            site=lp.site,
            lp_id=lp.id,
            product_id=lp.product_id,
            reason=EXPIRED_ON_RECEIPT,
            status="active",
            held_by=origin.by,
            held_at=origin.occurred_at,
            hold_cause=origin.action_id,
        )
    )
    lp.status = "on_hold"
    ctx.save_lp(lp)

"""Quality holds: the hold rules, qc.hold and qc.release from the floor, and the API's holds.

A hold is on one LP (and everything packed inside it, at any depth) or on a lot (of one
product when an item is given). Held LPs are ``on_hold``: usable_lp refuses them for
consumption (and later picks and shipments) and refuse_held_to_shipping keeps them off
shipping locations. Releasing puts an LP back to ``available``, but only when no other active
hold still covers it. A hold leaves the LP's reservations as they are: while held, its stock
counts as on hold, not as reserved (central/inventory/availability.py).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.apply.context import ApplyContext, LicensePlate, Origin
from central.apply.outcome import Applied, Operation, conflict
from central.db.tables import license_plates, quality_holds
from central.events.types import EventType
from central.inventory import nesting
from central.inventory.checks import known_lp
from central.inventory.holds import covering_holds
from protocol import ConflictCode
from protocol.actions import QualityTarget

HOLDABLE = ("available",)  # consumed and shipped LPs are history: never changed


@dataclass(frozen=True)
class Target:
    """What a hold or release names: an LP, or a lot (of one product when item is given)."""

    site: str
    lp: str | None = None
    lot: str | None = None
    item: str | None = None

    def __str__(self) -> str:
        if self.lp is not None:
            return f"LP {self.lp}"
        return f"lot {self.lot}" + (f" of {self.item}" if self.item else "")

    @property
    def title(self) -> str:
        """The target at the start of a sentence."""
        text = str(self)
        return text[0].upper() + text[1:]


@dataclass(frozen=True)
class Stamp:
    """Who did it, when, and the action or audit entry that caused it."""

    by: str
    at: datetime
    cause: str


@dataclass(frozen=True)
class HoldChange:
    """The outcome of a hold or release: the hold rows touched, LPs whose status changed."""

    hold_ids: list[int]
    lps: list[str]
    message: str


async def lp_tree(conn: AsyncConnection, lp_id: int) -> list[str]:
    """Numbers of an LP and of everything packed inside it, at any depth."""
    root = await nesting.number_of(conn, lp_id=lp_id)
    inside = [number for _, number in await nesting.nested_lps(conn, lp_id=lp_id)]
    return ([root] if root is not None else []) + inside


async def _product_id(ctx: ApplyContext, target: Target) -> int | None:
    """The product a lot target is narrowed to, or PRODUCT_NOT_FOUND."""
    if target.item is None:
        return None
    product = await ctx.product(target.site, target.item)
    if product is None:
        raise conflict(
            ConflictCode.PRODUCT_NOT_FOUND,
            f"Product {target.item} is not known at site {target.site}",
        )
    return product.id


async def _lot_lps(
    ctx: ApplyContext, site: str, lot: str, product_id: int | None, statuses: tuple[str, ...]
) -> list[LicensePlate]:
    """The LPs of a lot at a site in the given statuses, loaded (and locked) through ctx."""
    await ctx.flush()  # LPs made or changed earlier in the batch must be visible to the query
    query = select(license_plates.c.number).where(
        license_plates.c.site == site,
        license_plates.c.lot == lot,
        license_plates.c.status.in_(statuses),
    )
    if product_id is not None:
        query = query.where(license_plates.c.product_id == product_id)
    numbers = list((await ctx.conn.execute(query)).scalars())
    await ctx.load_lps((site, n) for n in numbers)
    return [
        lp
        for n in sorted(numbers)
        if (lp := ctx.lps[(site, n)]) is not None and lp.status in statuses
    ]


async def place_hold(ctx: ApplyContext, target: Target, *, reason: str, stamp: Stamp) -> HoldChange:
    """Hold an LP (with its contents) or a lot; LP_NOT_FOUND / PRODUCT_NOT_FOUND conflicts."""
    row: dict[str, Any] = {
        "site": target.site,
        "reason": reason,
        "status": "active",
        "held_by": stamp.by,
        "held_at": stamp.at,
        "hold_cause": stamp.cause,
    }
    root = None
    if target.lp is not None:
        root = await known_lp(ctx, target.site, target.lp)
        await ctx.flush()  # a root made earlier in the batch gets its id
        assert root.id is not None
        numbers = await lp_tree(ctx.conn, root.id)
        keys = [(root.site, n) for n in numbers]  # an LP nests only in its own site's LPs
        await ctx.load_lps(keys)
        lps = [lp for k in keys if (lp := ctx.lps[k]) is not None and lp.status in HOLDABLE]
        row.update(lp_id=root.id, product_id=root.product_id)
    else:
        assert target.lot is not None
        product_id = await _product_id(ctx, target)
        lps = await _lot_lps(ctx, target.site, target.lot, product_id, HOLDABLE)
        row.update(lot=target.lot, product_id=product_id)
    hold_id = (
        await ctx.conn.execute(insert(quality_holds).values(row).returning(quality_holds.c.id))
    ).scalar_one()
    message = _hold_message(target, root, lps)  # before the statuses change
    for lp in lps:
        lp.status = "on_hold"
        ctx.save_lp(lp)
    held = sorted(lp.number for lp in lps)
    product = (await ctx.product_by_id(row["product_id"])).code if row.get("product_id") else None
    ctx.event(
        EventType.QUALITY_HOLD,
        target.site,
        hold_subject(target.lp, product, target.lot),
        {
            "hold_id": hold_id,
            "lp": target.lp,
            "product": product,
            "lot": target.lot if root is None else root.lot,
            "reason": reason,
            "lps": held,
            "operator": stamp.by,
        },
        cause=stamp.cause,
        occurred_at=stamp.at,
    )
    return HoldChange([hold_id], held, message)


def hold_subject(lp: str | None, product: str | None, lot: str | None) -> str:
    """The subject of a quality event: the held LP's number, else ``PRODUCT/LOT`` (the lot
    alone when the hold covers that lot of every product)."""
    if lp is not None:
        return lp
    return f"{product}/{lot}" if product else str(lot)


def _hold_message(target: Target, root: LicensePlate | None, lps: list[LicensePlate]) -> str:
    """A sentence for the kiosk and the API answer about what a hold changed."""
    if root is None:
        if not lps:
            return (
                f"{target.title} is on hold; no LP carries it now, so LPs "
                "received or made with it will start on hold"
            )
        return f"{target.title} is on hold: {len(lps)} LP(s) held"
    inside = len([lp for lp in lps if lp is not root])
    packed = f" and {inside} LP(s) packed in it are now held" if inside else ""
    if root.status in ("consumed", "shipped"):
        return f"LP {root.number} is {root.status}; the hold is recorded{packed}"
    if root.status == "on_hold":
        return f"LP {root.number} was already on hold; this hold is recorded too{packed}"
    return f"LP {root.number} is on hold" + (f" with {inside} LP(s) packed in it" if inside else "")


async def active_holds(ctx: ApplyContext, target: Target) -> list[Any]:
    """Active hold rows on exactly this target (an LP's own holds; a lot's holds)."""
    query = select(quality_holds).where(
        quality_holds.c.site == target.site, quality_holds.c.status == "active"
    )
    if target.lp is not None:
        lp = await known_lp(ctx, target.site, target.lp)
        query = query.where(quality_holds.c.lp_id == lp.id)
    else:
        query = query.where(quality_holds.c.lp_id.is_(None), quality_holds.c.lot == target.lot)
        if (product_id := await _product_id(ctx, target)) is not None:
            query = query.where(quality_holds.c.product_id == product_id)
    return list(await ctx.conn.execute(query.order_by(quality_holds.c.id)))


async def release_target(
    ctx: ApplyContext, target: Target, *, reason: str, stamp: Stamp
) -> HoldChange:
    """Release every active hold on the target; HOLD_NOT_FOUND when there is none."""
    holds = await active_holds(ctx, target)
    if holds:
        return await release_holds(ctx, holds, reason=reason, stamp=stamp)
    if target.lp is not None:
        lp = await known_lp(ctx, target.site, target.lp)
        if lp.status == "on_hold":
            # Held with no hold of its own: through a pallet or a lot, or left over (unpacked
            # from a held pallet). Name what still holds it, or free it.
            why = (await still_held(ctx, [lp])).get(lp.number)
            if why is None:
                await _free(ctx, [lp])
                product = (await ctx.product_by_id(lp.product_id)).code
                ctx.event(
                    EventType.QUALITY_RELEASE,
                    target.site,
                    lp.number,
                    {
                        "hold_id": None,
                        "lp": lp.number,
                        "product": product,
                        "lot": lp.lot,
                        "reason": reason,
                        "lps": [lp.number],
                        "operator": stamp.by,
                    },
                    cause=stamp.cause,
                    occurred_at=stamp.at,
                )
                return HoldChange(
                    [],
                    [lp.number],
                    f"LP {lp.number} had no active hold covering it any more; it is off hold",
                )
            raise conflict(
                ConflictCode.HOLD_NOT_FOUND,
                f"LP {lp.number} has no hold of its own: it is on hold because {why}; release that",
            )
    raise conflict(
        ConflictCode.HOLD_NOT_FOUND, f"{target.title} has no active quality hold to release"
    )


async def release_holds(
    ctx: ApplyContext, holds: list[Any], *, reason: str, stamp: Stamp
) -> HoldChange:
    """Release these active hold rows; LPs they covered come off hold unless still covered."""
    ids = [h.id for h in holds]
    await ctx.conn.execute(
        update(quality_holds)
        .where(quality_holds.c.id.in_(ids))
        .values(
            status="released",
            released_by=stamp.by,
            released_at=stamp.at,
            release_reason=reason,
            release_cause=stamp.cause,
        )
    )
    candidates: dict[str, LicensePlate] = {}
    names = []
    covered: list[tuple[Any, str | None, list[str]]] = []  # (hold, its LP, LPs it covered)
    for hold in holds:
        if hold.lp_id is not None:
            await ctx.flush()
            numbers = await lp_tree(ctx.conn, hold.lp_id)
            keys = [(hold.site, n) for n in numbers]
            await ctx.load_lps(keys)
            found = [lp for k in keys if (lp := ctx.lps[k]) is not None]
            root = next(lp.number for lp in found if lp.id == hold.lp_id)
            names.append(f"the hold on LP {root}")
            covered.append((hold, root, [lp.number for lp in found]))
        else:
            found = await _lot_lps(ctx, hold.site, hold.lot, hold.product_id, ("on_hold",))
            names.append(f"the hold on lot {hold.lot}")
            covered.append((hold, None, [lp.number for lp in found]))
        candidates.update((lp.number, lp) for lp in found if lp.status == "on_hold")
    lps = list(candidates.values())
    still = await still_held(ctx, lps)
    freed = [lp for lp in lps if lp.number not in still]
    await _free(ctx, freed)
    freed_numbers = {lp.number for lp in freed}
    for hold, held_lp, numbers in covered:
        product = (await ctx.product_by_id(hold.product_id)).code if hold.product_id else None
        ctx.event(
            EventType.QUALITY_RELEASE,
            hold.site,
            hold_subject(held_lp, product, hold.lot),
            {
                "hold_id": hold.id,
                "lp": held_lp,
                "product": product,
                "lot": hold.lot,
                "reason": reason,
                "lps": sorted(n for n in numbers if n in freed_numbers),
                "operator": stamp.by,
            },
            cause=stamp.cause,
            occurred_at=stamp.at,
        )
    message = f"Released {', '.join(dict.fromkeys(names))}: {len(freed)} LP(s) off hold"
    if still:
        message += "; still on hold: " + "; ".join(
            f"LP {n} ({why})" for n, why in sorted(still.items())
        )
    return HoldChange(ids, sorted(lp.number for lp in freed), message)


async def still_held(ctx: ApplyContext, lps: list[LicensePlate]) -> dict[str, str]:
    """LPs (by number) an active hold still covers, with why: their own hold, a held LP they
    are packed in, or a held lot."""
    if not lps:
        return {}
    await ctx.flush()
    covers = await covering_holds(ctx.conn, lps)
    return {number: found[0].why for number, found in covers.items() if found}


async def _free(ctx: ApplyContext, lps: list[LicensePlate]) -> None:
    """Take LPs off hold: available again (their reservations, if any, held all along)."""
    for lp in lps:
        lp.status = "available"
        ctx.save_lp(lp)


def _target(origin: Origin, body: QualityTarget) -> Target:
    """The target an action names, at the envelope's site."""
    return Target(origin.site, body.lp, body.lot, body.item)


async def hold(ctx: ApplyContext, origin: Origin, body: QualityTarget) -> Applied:
    """qc.hold: an LP (with its contents) or a lot goes on quality hold."""
    change = await place_hold(
        ctx,
        _target(origin, body),
        reason=body.reason,
        stamp=Stamp(origin.by, origin.occurred_at, origin.action_id),
    )
    return Applied(change.message)


async def release(ctx: ApplyContext, origin: Origin, body: QualityTarget) -> Applied:
    """qc.release: the active holds on an LP or a lot are released."""
    change = await release_target(
        ctx,
        _target(origin, body),
        reason=body.reason,
        stamp=Stamp(origin.by, origin.occurred_at, origin.action_id),
    )
    return Applied(change.message)


ACTIONS: dict[str, Operation] = {
    "qc.hold": hold,
    "qc.release": release,
}

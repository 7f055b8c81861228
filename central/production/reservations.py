"""Material reservations of work orders: quantities taken FEFO at release, used by
consumption, given back when the order is completed, closed or cancelled.

A reservation is a quantity of one LP held for one material of one work order; an LP may
carry reservations of several orders, and what is reserved of it is their sum (never more
than it holds; central/inventory/availability.py). Ledger memo rows record each commitment:
``RESERVE +qty`` when taken, ``RELEASE -qty`` when a part is given back without being
consumed; they never count in a balance.

Consumption into a work order first uses its reservation on the LP consumed; whatever it took
beyond that shrinks the order's other reservations of that component, the last taken first
(the latest expiry: the stock FEFO says to use first stays held). An LP that ends up holding
less than is reserved of it gives back the difference, the newest reservation first.

Everything here works through an ApplyContext, so the API (release, complete, cancel) and
the floor (wo.complete, lp.consume) share one path. Every writer of an LP's reservations
holds that LP's row lock (ctx.load_lps, or the release's FEFO query).
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update

from central.apply.context import ApplyContext, LicensePlate, WorkOrder
from central.db.tables import (
    products,
    reservations,
    work_order_materials,
)
from central.errors import ActionConflict
from central.inventory.availability import reservable
from central.inventory.claims import (
    Claim,
    claims_on,
    claims_query,
    fit_reservations,
    release_memo,
    shrink,
)
from protocol.types import format_qty

MATERIAL_SHORT = "MATERIAL_SHORT"


def _short_error(wo: WorkOrder, short: list[dict[str, str]]) -> ActionConflict:
    """The answer to a release that cannot be covered: every short component and by how much."""
    parts = "; ".join(
        f"{s['component']} needs {s['required']} {s['uom']}, {s['available']} "
        f"{s['uom']} available ({s['short']} {s['uom']} short)"
        for s in short
    )
    return ActionConflict(
        f"Work order {wo.number} cannot be released, material is short: {parts}",
        code=MATERIAL_SHORT,
        details={"work_order": wo.number, "short": short},
    )


async def reserve_materials(ctx: ApplyContext, wo: WorkOrder, *, action_id: str) -> int:
    """Reserve what every material of the work order needs from the available part of LPs,
    FEFO; answers how many reservations were made.

    Raises MATERIAL_SHORT, before writing anything, when any component cannot be covered.
    """
    materials = (
        await ctx.conn.execute(
            select(
                work_order_materials.c.id,
                work_order_materials.c.component_id,
                work_order_materials.c.qty_required,
                products.c.code,
                products.c.uom,
            )
            .join(products, products.c.id == work_order_materials.c.component_id)
            .where(work_order_materials.c.work_order_id == wo.id)
            .order_by(work_order_materials.c.line, work_order_materials.c.id)
        )
    ).all()
    if not materials:
        return 0
    await ctx.flush()  # this transaction's LP changes must be in the table the query reads
    free = await reservable(
        ctx.conn,
        site=wo.site,
        product_ids={m.component_id for m in materials},
        today=ctx.recorded_at.date(),
    )
    queues: dict[int, list[Any]] = {}
    for found in free:
        cached = ctx.lps.get((wo.site, found.number))
        if cached is None or cached.status == "available":
            queues.setdefault(found.product_id, []).append(found)
    picks: list[tuple[int, str, Decimal]] = []
    short: list[dict[str, str]] = []
    for material in materials:
        queue = queues.get(material.component_id, [])
        available = sum((lp.free for lp in queue), Decimal(0))
        need = material.qty_required
        while need > 0 and queue:
            lp = queue[0]
            part = min(lp.free, need)
            picks.append((material.id, lp.number, part))
            need -= part
            lp.free -= part  # a later line of the same component may take the rest
            if lp.free == 0:
                queue.pop(0)
        if need > 0:
            short.append(
                {
                    "component": material.code,
                    "uom": material.uom,
                    "required": format_qty(material.qty_required),
                    "available": format_qty(available),
                    "short": format_qty(need),
                }
            )
    if short:
        raise _short_error(wo, short)
    await ctx.load_lps((wo.site, number) for _, number, _ in picks)
    rows = []
    for material_id, number, part in picks:
        lp = ctx.lps[(wo.site, number)]
        assert lp is not None and lp.id is not None
        ctx.ledger(
            lp=lp,
            kind="RESERVE",
            qty=part,
            location_id=lp.location_id,
            occurred_at=ctx.recorded_at,
            action_id=action_id,
            work_order_id=wo.id,
            reference=wo.number,
        )
        rows.append(
            {
                "site": wo.site,
                "work_order_id": wo.id,
                "material_id": material_id,
                "lp_id": lp.id,
                "qty": part,
                "status": "active",
                "created_at": ctx.recorded_at,
            }
        )
    await ctx.conn.execute(insert(reservations), rows)
    _forget(ctx)
    return len(rows)


async def _holds_reservations(ctx: ApplyContext, wo: WorkOrder) -> bool:
    """Whether the work order holds any active reservation (loaded for every work order the
    context holds at once)."""
    if wo.id not in ctx.reserving:
        ids = {o.id for o in ctx.wos.values() if o is not None} - ctx.reserving.keys()
        ids.add(wo.id)
        query = (
            select(reservations.c.work_order_id)
            .distinct()
            .where(reservations.c.work_order_id.in_(ids), reservations.c.status == "active")
        )
        found = set((await ctx.conn.execute(query)).scalars())
        ctx.reserving.update((i, i in found) for i in ids)
    return ctx.reserving[wo.id]


def _forget(ctx: ApplyContext) -> None:
    """Drop what the context knows of reservations (after writing many of them at once)."""
    ctx.claims.clear()
    ctx.reserving.clear()


async def use_for_consumption(
    ctx: ApplyContext,
    wo: WorkOrder,
    lp: LicensePlate,
    qty: Decimal,
    claims: list[Claim],
    *,
    action_id: str,
    occurred_at: datetime,
) -> None:
    """Count ``qty`` consumed from ``lp`` into ``wo`` against reservations (call after the
    LP's qty dropped; ``claims`` are the LP's claims from before).

    The order's reservation on this LP is used first; the rest shrinks the order's other
    reservations of the LP's component, the newest first, each part given back with a
    RELEASE memo on its LP. Last, the LP gives back whatever is reserved of it beyond what it
    still holds (a forced consumption of another order's reserved part)."""
    left = qty
    for claim in claims:
        if claim.work_order_id == wo.id and left > 0:
            part = min(claim.qty, left)
            await shrink(ctx, claim, part, lp, used=True, action_id=action_id)
            left -= part
    if left > 0 and await _holds_reservations(ctx, wo):
        others = claims_query().where(
            reservations.c.work_order_id == wo.id,
            reservations.c.lp_id != lp.id,
            reservations.c.material_id.in_(
                select(work_order_materials.c.id).where(
                    work_order_materials.c.work_order_id == wo.id,
                    work_order_materials.c.component_id == lp.product_id,
                )
            ),
        )
        found = [row for row in await ctx.conn.execute(others)]
        await ctx.load_lps((wo.site, row.lp) for row in found)
        moved = []  # the context's own copies, so they stay current for later actions
        for row in found:
            held = ctx.lps[(wo.site, row.lp)]
            assert held is not None
            moved += [(c, held) for c in await claims_on(ctx, held) if c.id == row.id]
        for claim, held in reversed(moved):
            if left == 0:
                break
            part = min(claim.qty, left)
            await shrink(
                ctx, claim, part, held, used=False, action_id=action_id, occurred_at=occurred_at
            )
            left -= part
    await fit_reservations(
        ctx, lp, [c for c in claims if c.qty > 0], action_id=action_id, occurred_at=occurred_at
    )


async def release_reservations(
    ctx: ApplyContext, wo: WorkOrder, *, action_id: str, occurred_at: datetime | None = None
) -> int:
    """Give back every active reservation of the work order (a RELEASE memo row each);
    answers how many were released."""
    rows = (
        await ctx.conn.execute(claims_query().where(reservations.c.work_order_id == wo.id))
    ).all()
    if not rows:
        return 0
    await ctx.load_lps((wo.site, row.lp) for row in rows)
    for row in rows:
        lp = ctx.lps[(wo.site, row.lp)]
        assert lp is not None
        release_memo(
            ctx,
            lp,
            qty=row.qty,
            work_order_id=wo.id,
            action_id=action_id,
            occurred_at=occurred_at,
            reference=wo.number,
        )
    await ctx.conn.execute(
        update(reservations)
        .where(reservations.c.id.in_([row.id for row in rows]))
        .values(status="released", closed_at=ctx.recorded_at)
    )
    _forget(ctx)
    return len(rows)

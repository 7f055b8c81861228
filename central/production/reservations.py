"""Material reservations of work orders: FEFO picks at release, given back at completion.

Releasing a work order reserves whole LPs of each component (earliest expiry first, then the
oldest LP): an LP is ``reserved`` for one work order, and its reservation row carries the part
of it counted against the material. Ledger memo rows record the commitment: ``RESERVE +qty``
when taken, ``RELEASE -qty`` when the unused part is given back; they never count in a balance.
Consuming a reserved LP into its own work order uses the reservation up.

Everything here works through an ApplyContext, so the API (release, complete) and the floor
(wo.complete, lp.consume) share one path and the context's buffered LP state stays coherent.
"""

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, or_, select, update

from central.apply.context import ApplyContext, LicensePlate, WorkOrder
from central.db.tables import (
    license_plates,
    products,
    reservations,
    work_order_materials,
    work_orders,
)
from central.errors import ActionConflict
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


async def _candidates(
    ctx: ApplyContext, site: str, component_ids: set[int], today: date
) -> dict[int, list[Any]]:
    """Reservable LPs per component in FEFO order (expiry, then age), row-locked on PostgreSQL.

    Available, not empty, not expired; packed LPs count too. The lock makes a concurrent
    release wait, then see these LPs as reserved.
    """
    query = (
        select(
            license_plates.c.id,
            license_plates.c.number,
            license_plates.c.product_id,
            license_plates.c.qty,
        )
        .where(
            license_plates.c.site == site,
            license_plates.c.product_id.in_(component_ids),
            license_plates.c.status == "available",
            license_plates.c.qty > 0,
            or_(license_plates.c.expiry.is_(None), license_plates.c.expiry >= today),
        )
        .order_by(
            license_plates.c.expiry.asc().nulls_last(),
            license_plates.c.created_at,
            license_plates.c.id,
        )
        .with_for_update(of=license_plates)
    )
    found: dict[int, list[Any]] = defaultdict(list)
    for row in await ctx.conn.execute(query):
        cached = ctx.lps.get((site, row.number))  # this transaction's view wins over the table's
        if cached is None or cached.status == "available":
            found[row.product_id].append(row)
    return found


async def reserve_materials(ctx: ApplyContext, wo: WorkOrder, *, action_id: str) -> int:
    """Reserve LPs for every material of the work order; answers how many LPs were reserved.

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
    free = await _candidates(
        ctx, wo.site, {m.component_id for m in materials}, ctx.recorded_at.date()
    )
    picks: list[tuple[int, str, Decimal]] = []
    short: list[dict[str, str]] = []
    for material in materials:
        queue = free[material.component_id]
        available = sum((lp.qty for lp in queue), Decimal(0))
        need = material.qty_required
        while need > 0 and queue:
            lp = queue.pop(0)  # whole LPs: the first ones cover the need, the last in part
            part = min(lp.qty, need)
            picks.append((material.id, lp.number, part))
            need -= part
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
        lp.status = "reserved"
        ctx.save_lp(lp)
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
    return len(rows)


async def release_reservations(
    ctx: ApplyContext, wo: WorkOrder, *, action_id: str, occurred_at: datetime | None = None
) -> int:
    """Give back every active reservation of the work order (LPs available again, ledger
    RELEASE rows); answers how many were released."""
    rows = (
        await ctx.conn.execute(
            select(reservations.c.id, reservations.c.qty, license_plates.c.number)
            .join(license_plates, license_plates.c.id == reservations.c.lp_id)
            .where(reservations.c.work_order_id == wo.id, reservations.c.status == "active")
            .order_by(reservations.c.id)
        )
    ).all()
    if not rows:
        return 0
    await ctx.load_lps((wo.site, row.number) for row in rows)
    for row in rows:
        lp = ctx.lps[(wo.site, row.number)]
        assert lp is not None
        _release_memo(
            ctx,
            lp,
            qty=row.qty,
            work_order_id=wo.id,
            action_id=action_id,
            occurred_at=occurred_at,
            reference=wo.number,
        )
        if lp.status == "reserved":  # held or consumed meanwhile: that status stays
            lp.status = "available"
            ctx.save_lp(lp)
    await _mark_released(ctx, [row.id for row in rows])
    return len(rows)


def _release_memo(
    ctx: ApplyContext,
    lp: LicensePlate,
    *,
    qty: Decimal,
    work_order_id: int,
    action_id: str,
    occurred_at: datetime | None,
    reference: str | None,
) -> None:
    """The RELEASE memo row of a reservation given back (it never counts in a balance)."""
    ctx.ledger(
        lp=lp,
        kind="RELEASE",
        qty=-qty,
        location_id=lp.location_id,
        occurred_at=occurred_at or ctx.recorded_at,
        action_id=action_id,
        work_order_id=work_order_id,
        reference=reference,
    )


async def _mark_released(ctx: ApplyContext, ids: list[int]) -> None:
    """Close the reservations ``ids`` as released."""
    await ctx.conn.execute(
        update(reservations)
        .where(reservations.c.id.in_(ids))
        .values(status="released", closed_at=ctx.recorded_at)
    )


async def active_reservation(ctx: ApplyContext, lp: LicensePlate) -> Any | None:
    """The LP's active reservation (id, qty, work order id and number), if it is reserved."""
    if lp.id is None or lp.status != "reserved":
        return None
    query = (
        select(
            reservations.c.id,
            reservations.c.qty,
            reservations.c.work_order_id,
            work_orders.c.number,
        )
        .join(work_orders, work_orders.c.id == reservations.c.work_order_id)
        .where(reservations.c.lp_id == lp.id, reservations.c.status == "active")
        .order_by(reservations.c.id)
        .limit(1)
    )
    return (await ctx.conn.execute(query)).first()


async def use_reservation(
    ctx: ApplyContext, lp: LicensePlate, reservation: Any, qty: Decimal
) -> None:
    """Count ``qty`` consumed from a reserved LP against its reservation (call after the LP's
    qty dropped). Used up, or the LP empty: the reservation is consumed, and what is left of
    the LP beyond it is free again."""
    left = max(reservation.qty - qty, Decimal(0))
    values: dict[str, Any] = {"qty": left}
    if left == 0 or lp.qty == 0:
        values.update(status="consumed", closed_at=ctx.recorded_at)
        if lp.qty > 0 and lp.status == "reserved":
            lp.status = "available"
            ctx.save_lp(lp)
    await ctx.conn.execute(
        update(reservations).where(reservations.c.id == reservation.id).values(**values)
    )


async def drop_reservation(
    ctx: ApplyContext, lp: LicensePlate, *, action_id: str, reference: str | None = None
) -> bool:
    """Give back the reservation of an LP that no longer holds stock (a count found it empty);
    answers whether there was one. The work order then shows that material as unreserved."""
    reservation = await active_reservation(ctx, lp)
    if reservation is None:
        return False
    _release_memo(
        ctx,
        lp,
        qty=reservation.qty,
        work_order_id=reservation.work_order_id,
        action_id=action_id,
        occurred_at=None,
        reference=reference,
    )
    await _mark_released(ctx, [reservation.id])
    return True

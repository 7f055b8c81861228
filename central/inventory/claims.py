"""What work orders and sales order lines hold of an LP: its claims (active reservations),
read once per transaction, and how they give way when the LP holds less than is reserved of it.

Reservations are taken and used by work orders (central/production/reservations.py) and by
sales order lines (central/orders/release.py, picking.py); every LP operation that makes an
LP smaller (a split, a merge, a count, a consumption beyond its free part) has to respect
both kinds, so the LP side of them lives here, below every domain that takes them.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from central.apply.context import ApplyContext, LicensePlate, WorkOrder
from central.db.tables import (
    license_plates,
    reservations,
    sales_order_lines,
    sales_orders,
    work_orders,
)


@dataclass
class Claim:
    """One active reservation: on which LP, for which work order (id, number and material)
    or sales order line (id and the order's number), and how much it holds now."""

    id: int
    lp_id: int
    lp: str
    work_order_id: int | None
    work_order: str | None
    material_id: int | None
    order_line_id: int | None
    order: str | None
    qty: Decimal

    @property
    def reference(self) -> str:
        """The number of what holds it: its work order's, or its sales order's."""
        return self.work_order or self.order or ""


def holders(claims: list[Claim]) -> str:
    """Who holds these claims, for a message: "work order WO-1, WO-2 and sales order SO-1"."""
    wos = list(dict.fromkeys(c.work_order for c in claims if c.work_order))
    sos = list(dict.fromkeys(c.order for c in claims if c.order))
    named = [f"work order {', '.join(wos)}"] if wos else []
    named += [f"sales order {', '.join(sos)}"] if sos else []
    return " and ".join(named)


def claims_query() -> Any:
    """Active reservations with their LP's number and their work order's or sales order's
    number, oldest first."""
    return (
        select(
            reservations.c.id,
            reservations.c.lp_id,
            license_plates.c.number.label("lp"),
            reservations.c.work_order_id,
            work_orders.c.number.label("work_order"),
            reservations.c.material_id,
            reservations.c.order_line_id,
            sales_orders.c.number.label("order"),
            reservations.c.qty,
        )
        .join(license_plates, license_plates.c.id == reservations.c.lp_id)
        .outerjoin(work_orders, work_orders.c.id == reservations.c.work_order_id)
        .outerjoin(sales_order_lines, sales_order_lines.c.id == reservations.c.order_line_id)
        .outerjoin(sales_orders, sales_orders.c.id == sales_order_lines.c.order_id)
        .where(reservations.c.status == "active")
        .order_by(reservations.c.id)
    )


async def claims_on(ctx: ApplyContext, lp: LicensePlate) -> list[Claim]:
    """The LP's active reservations, oldest first (none for an LP not written yet).

    The first call of a transaction loads them for every LP the context holds, in one query.
    """
    if lp.id is None:
        return []
    if lp.id not in ctx.claims:
        ids = {o.id for o in ctx.lps.values() if o is not None and o.id is not None}
        ids = (ids - ctx.claims.keys()) | {lp.id}
        for lp_id in ids:
            ctx.claims[lp_id] = []
        query = claims_query().where(reservations.c.lp_id.in_(ids))
        for row in await ctx.conn.execute(query):
            ctx.claims[row.lp_id].append(Claim(**row._mapping))
    return [c for c in ctx.claims[lp.id] if c.qty > 0]


def reserved_for_others(claims: list[Claim], wo: WorkOrder) -> Decimal:
    """What others (other work orders, and sales order lines) hold of an LP (its claims)."""
    return sum((c.qty for c in claims if c.work_order_id != wo.id), Decimal(0))


async def shrink(
    ctx: ApplyContext,
    claim: Claim,
    by: Decimal,
    lp: LicensePlate,
    *,
    used: bool,
    action_id: str,
    occurred_at: datetime | None = None,
    reference: str | None = None,
) -> None:
    """Take ``by`` off a reservation: ``used`` when consumption used it (no memo row; a
    reservation used up is ``consumed``), else given back (a RELEASE memo row; a
    reservation emptied is ``released``)."""
    claim.qty -= by
    if not used:
        release_memo(
            ctx,
            lp,
            qty=by,
            work_order_id=claim.work_order_id,
            action_id=action_id,
            occurred_at=occurred_at,
            reference=reference or claim.reference,
        )
    values: dict[str, Any] = {"qty": claim.qty}
    if claim.qty == 0:
        values.update(status="consumed" if used else "released", closed_at=ctx.recorded_at)
    await ctx.conn.execute(
        update(reservations).where(reservations.c.id == claim.id).values(**values)
    )


async def fit_reservations(
    ctx: ApplyContext,
    lp: LicensePlate,
    claims: list[Claim] | None = None,
    *,
    action_id: str,
    occurred_at: datetime | None = None,
    reference: str | None = None,
) -> int:
    """Give back what is reserved of an LP beyond what it holds now (it was adjusted, split,
    merged away or consumed beyond its free part), the newest reservation first; answers how
    many reservations shrank. ``claims``: the LP's active claims, when the caller has them."""
    if claims is None:
        claims = await claims_on(ctx, lp)
    excess = sum((c.qty for c in claims), Decimal(0)) - max(lp.qty, Decimal(0))
    if lp.status in ("consumed", "shipped"):
        excess = sum((c.qty for c in claims), Decimal(0))
    shrunk = 0
    for claim in reversed(claims):
        if excess <= 0:
            break
        part = min(claim.qty, excess)
        await shrink(
            ctx,
            claim,
            part,
            lp,
            used=False,
            action_id=action_id,
            occurred_at=occurred_at,
            reference=reference,
        )
        excess -= part
        shrunk += 1
    return shrunk


def release_memo(
    ctx: ApplyContext,
    lp: LicensePlate,
    *,
    qty: Decimal,
    work_order_id: int | None,
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

"""Automatic release: with a site's ``auto_release`` on, each new order of the site is released
to the warehouse at once, all or nothing, and planned onto the site's open wave shipment (one
per route, or per due day), through the same release and plan services the API offers.

It lives in shipping because it needs both halves: orders may not import shipping, shipping
may import orders. It runs in the transaction that made the orders (the order and its release
commit together, so no one ever sees a new order that auto-release has yet to reach, and a
crash cannot leave one behind), each order inside a savepoint of its own: whatever stops an
order's release or plan (short stock, no staging location, a database refusal) rolls back
that order's release and plan only, so the order itself is kept, open, with the reason.
"""

import logging
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access.callers import Caller
from central.apply.context import ApplyContext
from central.clock import now
from central.db.enums import AutoReleaseWave
from central.db.tables import sales_orders, shipment_orders, shipments
from central.errors import CentralError
from central.orders.release import release_orders
from central.shipping.planning import Shipment, add_orders, plan_shipment
from central.sites.settings import read_settings

log = logging.getLogger(__name__)

AUTO_RELEASE_FAILED = "AUTO_RELEASE_FAILED"  # the database refused the release or the plan


@dataclass(frozen=True, slots=True)
class AutoRelease:
    """What auto-release did with one new order: released (its pick ``wave`` and ``tasks``)
    and planned onto ``shipment``, or not (``code``, ``message``, ``details`` say why; the
    order stays open). ``wave_by`` and ``wave_of`` name the shipment wave: its route or due
    day (None: the wave of orders without one)."""

    order_id: int
    order: str
    released: bool
    wave_by: AutoReleaseWave
    wave_of: str | None
    wave: str | None = None
    tasks: list[str] = field(default_factory=list)
    shipment: str | None = None
    shipment_id: int | None = None
    shipment_created: bool = False
    code: str | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The outcome as JSON-ready values."""
        return asdict(self)


async def release_new_orders(
    ctx: ApplyContext, *, caller: Caller, site: str, order_ids: list[int]
) -> dict[int, AutoRelease]:
    """Release and plan each of these new orders of ``site`` when the site has auto-release
    on; answers the outcome per order id ({} when it is off)."""
    if not order_ids or not (await read_settings(ctx.conn, site)).auto_release:
        return {}  # looked at unlocked first: a site without auto-release never waits here
    # The settings row, locked, makes the auto-releases of a site take turns: two new orders
    # of one route never each open a wave shipment of their own.
    settings = await read_settings(ctx.conn, site, lock=True)
    if not settings.auto_release:
        return {}
    found = await ctx.conn.execute(
        select(
            sales_orders.c.id,
            sales_orders.c.number,
            sales_orders.c.route,
            sales_orders.c.due_date,
        )
        .where(sales_orders.c.site == site, sales_orders.c.id.in_(order_ids))
        .order_by(sales_orders.c.id)
    )
    by = settings.auto_release_wave
    return {row.id: await _one(ctx, caller, site, row, by) for row in found.all()}


def _wave_of(row: Any, by: AutoReleaseWave) -> str | None:
    """The wave an order belongs to: its route, or its due day (ISO)."""
    if by == "route":
        return str(row.route) if row.route is not None else None
    return row.due_date.isoformat() if row.due_date is not None else None


async def _one(
    ctx: ApplyContext, caller: Caller, site: str, row: Any, by: AutoReleaseWave
) -> AutoRelease:
    """Release one order and plan it onto its wave's shipment, or keep it open with why."""
    wave_of = _wave_of(row, by)
    try:
        async with ctx.conn.begin_nested():
            # A context of its own: what a failed release buffered goes with its savepoint.
            own = ApplyContext(ctx.conn, ctx.settings, ctx.refs, recorded_at=now(), cause="api")
            done = await release_orders(own, caller=caller, order_ids=[row.id], site=site)
            shipment, created = await _plan(ctx.conn, caller, site, row, by)
            await own.flush()
            ctx.stock_changes.update(own.stock_changes)  # checked when ctx finishes
    except CentralError as err:
        return AutoRelease(
            row.id,
            row.number,
            False,
            by,
            wave_of,
            code=err.code,
            message=err.message,
            details=err.details,
        )
    except DBAPIError:  # the order is kept; the release is what the database refused
        # Its words stay in the log, as for any database error under a call.
        log.exception("auto-release of %s at %s failed in the database", row.number, site)
        return AutoRelease(
            row.id,
            row.number,
            False,
            by,
            wave_of,
            code=AUTO_RELEASE_FAILED,
            message=f"the database refused the release of {row.number}; it stays open "
            "(central's log says why)",
            details={"order": row.number},
        )
    return AutoRelease(
        row.id,
        row.number,
        True,
        by,
        wave_of,
        wave=done.wave,
        tasks=[task.number for task in done.tasks],
        shipment=shipment.number,
        shipment_id=shipment.id,
        shipment_created=created,
        message=f"{row.number} released as {done.wave} ({len(done.tasks)} task(s)) and "
        f"planned onto {'new ' if created else ''}shipment {shipment.number}",
    )


async def _plan(
    conn: AsyncConnection, caller: Caller, site: str, row: Any, by: AutoReleaseWave
) -> tuple[Shipment, bool]:
    """Put the released order on its wave's open shipment, or on a new one; True: new."""
    found = await wave_shipment(conn, site=site, by=by, route=row.route, due_date=row.due_date)
    if found is not None:
        return await add_orders(conn, caller=caller, shipment_id=found, order_ids=[row.id]), False
    planned_date = row.due_date if by == "day" else None
    made = await plan_shipment(
        conn,
        caller=caller,
        site=site,
        order_ids=[row.id],
        carrier=None,
        tracking_number=None,
        planned_date=planned_date,
    )
    return made, True


async def wave_shipment(
    conn: AsyncConnection,
    *,
    site: str,
    by: AutoReleaseWave,
    route: str | None,
    due_date: date | None,
) -> int | None:
    """The site's open shipment of a wave, locked: still ``planned``, serving orders, every
    one of them on ``route`` (wave "route") or due on ``due_date`` with the shipment planned
    for that day (wave "day"); None on either means the wave of orders without one. The
    newest such shipment, a planned one made by hand included."""
    served = shipment_orders.c.shipment_id == shipments.c.id
    other = (
        sales_orders.c.route.is_distinct_from(route)
        if by == "route"
        else sales_orders.c.due_date.is_distinct_from(due_date)
    )
    outsider = (
        select(shipment_orders.c.id)
        .join(sales_orders, sales_orders.c.id == shipment_orders.c.order_id)
        .where(served, other)
    )
    query = select(shipments.c.id).where(
        shipments.c.site == site,
        shipments.c.status == "planned",
        exists(select(shipment_orders.c.id).where(served)),
        ~exists(outsider),
    )
    if by == "day":
        query = query.where(shipments.c.planned_date.is_not_distinct_from(due_date))
    found = await conn.scalar(
        query.order_by(shipments.c.id.desc()).limit(1).with_for_update(of=shipments)
    )
    return int(found) if found is not None else None

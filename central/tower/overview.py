"""GET /control-tower: what is open, due, late or stuck across a plant right now, counted by
aggregate queries over the tables (never a kept counter), with the health scores.

Definitions (docs/central-orders.md, "Control tower"); "today" is central's UTC date at
``at``:

- open orders: status not shipped, invoiced or cancelled, and not excluded by a sync; due
  today / overdue: open orders whose due date is today / before today;
- active shipments: status not delivered or cancelled;
- pending pick tasks: status open; overdue: pending tasks of orders due before today;
- edges: registered and not revoked, online or offline as their state topic last said;
- open conflicts: the inbox's ``open`` ones, by code;
- LPs on hold: LPs with status ``on_hold`` and what they hold, per unit of measure.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.enums import SHIPMENT_STATUSES, SO_STATUSES, WO_STATUSES
from central.db.tables import (
    conflicts,
    edges,
    license_plates,
    locations,
    pick_tasks,
    sales_orders,
    shipments,
    work_orders,
)
from central.tower.health import Health, health
from central.tower.sql import count_if, in_sites

CLOSED_ORDER = ("shipped", "invoiced", "cancelled")
OPEN_ORDER = tuple(s for s in SO_STATUSES if s not in CLOSED_ORDER)
ENDED_SHIPMENT = ("delivered", "cancelled")
ACTIVE_SHIPMENT = tuple(s for s in SHIPMENT_STATUSES if s not in ENDED_SHIPMENT)


@dataclass(frozen=True, slots=True)
class Orders:
    """Open orders: how many, by status, and how many are due today or overdue."""

    open: int
    by_status: dict[str, int]
    due_today: int
    overdue: int


@dataclass(frozen=True, slots=True)
class Shipments:
    """Active shipments, by status."""

    active: int
    by_status: dict[str, int]


@dataclass(frozen=True, slots=True)
class PickTasks:
    """Open pick tasks, and those of orders already overdue."""

    pending: int
    overdue: int


@dataclass(frozen=True, slots=True)
class WorkOrders:
    """Work orders by status (every status, 0 when none)."""

    total: int
    by_status: dict[str, int]


@dataclass(frozen=True, slots=True)
class Edge:
    """One edge's presence as it last reported it."""

    site: str
    edge_id: str
    online: bool
    queue_depth: int
    oldest_pending_ts: str | None
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class Edges:
    """Edges online and offline, and each one's queue."""

    online: int
    offline: int
    items: list[Edge]


@dataclass(frozen=True, slots=True)
class Conflicts:
    """Open conflicts, by code."""

    open: int
    by_code: dict[str, int]


@dataclass(frozen=True, slots=True)
class HeldStock:
    """What LPs on hold hold of one unit of measure."""

    uom: str
    lps: int
    qty: Decimal


@dataclass(frozen=True, slots=True)
class Holds:
    """LPs on hold: how many, and their quantity per unit (units are never added up)."""

    lps: int
    by_uom: list[HeldStock]


@dataclass(frozen=True, slots=True)
class ControlTower:
    """The whole answer of GET /control-tower."""

    site: str | None
    at: datetime
    today: date
    orders: Orders
    shipments: Shipments
    pick_tasks: PickTasks
    work_orders: WorkOrders
    edges: Edges
    conflicts: Conflicts
    lps_on_hold: Holds
    health: Health


def _by(statuses: tuple[str, ...], rows: dict[str, int]) -> dict[str, int]:
    """Counts per status, every status named (0 when none), in the enum's order."""
    return {status: rows.get(status, 0) for status in statuses}


async def _orders(conn: AsyncConnection, sites: list[str] | None, today: date) -> Orders:
    """Open orders per status, with those due today and overdue, in one GROUP BY."""
    so = sales_orders
    query = (
        select(
            so.c.status,
            func.count(),
            count_if(so.c.due_date == today),
            count_if(so.c.due_date < today),
        )
        .where(in_sites(so.c.site, sites), so.c.status.in_(OPEN_ORDER), so.c.excluded.is_(False))
        .group_by(so.c.status)
    )
    rows = [tuple(row) for row in await conn.execute(query)]
    by_status = _by(OPEN_ORDER, {row[0]: int(row[1]) for row in rows})
    return Orders(
        open=sum(by_status.values()),
        by_status=by_status,
        due_today=sum(int(row[2]) for row in rows),
        overdue=sum(int(row[3]) for row in rows),
    )


async def _shipments(conn: AsyncConnection, sites: list[str] | None) -> Shipments:
    """Active shipments per status."""
    query = (
        select(shipments.c.status, func.count())
        .where(in_sites(shipments.c.site, sites), shipments.c.status.in_(ACTIVE_SHIPMENT))
        .group_by(shipments.c.status)
    )
    by_status = _by(ACTIVE_SHIPMENT, {s: int(n) for s, n in await conn.execute(query)})
    return Shipments(active=sum(by_status.values()), by_status=by_status)


async def _pick_tasks(conn: AsyncConnection, sites: list[str] | None, today: date) -> PickTasks:
    """Open pick tasks, and those whose order was due before today."""
    query = (
        select(func.count(), count_if(sales_orders.c.due_date < today))
        .select_from(pick_tasks)
        .join(sales_orders, sales_orders.c.id == pick_tasks.c.order_id)
        .where(in_sites(pick_tasks.c.site, sites), pick_tasks.c.status == "open")
    )
    pending, overdue = (await conn.execute(query)).one()
    return PickTasks(pending=int(pending), overdue=int(overdue))


async def _work_orders(conn: AsyncConnection, sites: list[str] | None) -> WorkOrders:
    """Work orders per status."""
    query = (
        select(work_orders.c.status, func.count())
        .where(in_sites(work_orders.c.site, sites))
        .group_by(work_orders.c.status)
    )
    by_status = _by(WO_STATUSES, {s: int(n) for s, n in await conn.execute(query)})
    return WorkOrders(total=sum(by_status.values()), by_status=by_status)


async def _edges(conn: AsyncConnection, sites: list[str] | None) -> Edges:
    """Edges that are not revoked, by site and id, with their presence."""
    query = (
        select(
            edges.c.site,
            edges.c.edge_id,
            edges.c.online,
            edges.c.queue_depth,
            edges.c.oldest_pending_ts,
            edges.c.last_seen,
        )
        .where(in_sites(edges.c.site, sites), edges.c.revoked_at.is_(None))
        .order_by(edges.c.site, edges.c.edge_id)
    )
    items = [Edge(*row) for row in await conn.execute(query)]
    online = sum(edge.online for edge in items)
    return Edges(online=online, offline=len(items) - online, items=items)


async def _conflicts(conn: AsyncConnection, sites: list[str] | None) -> Conflicts:
    """Open conflicts per code, the most frequent first."""
    query = (
        select(conflicts.c.code, func.count().label("n"))
        .where(in_sites(conflicts.c.site, sites), conflicts.c.status == "open")
        .group_by(conflicts.c.code)
        .order_by(func.count().desc(), conflicts.c.code)
    )
    by_code = {code: int(n) for code, n in await conn.execute(query)}
    return Conflicts(open=sum(by_code.values()), by_code=by_code)


async def _holds(conn: AsyncConnection, sites: list[str] | None) -> Holds:
    """LPs on hold per unit. Found through their locations: the (location, status) index
    finds a site's held LPs without reading every LP of the plant."""
    places = select(locations.c.id).where(in_sites(locations.c.site, sites)).scalar_subquery()
    lp = license_plates
    query = (
        select(lp.c.uom, func.count(), func.coalesce(func.sum(lp.c.qty), 0))
        .where(lp.c.location_id.in_(places), lp.c.status == "on_hold")
        .group_by(lp.c.uom)
        .order_by(lp.c.uom)
    )
    by_uom = [HeldStock(uom, int(n), Decimal(qty)) for uom, n, qty in await conn.execute(query)]
    return Holds(lps=sum(held.lps for held in by_uom), by_uom=by_uom)


async def control_tower(
    conn: AsyncConnection, *, sites: list[str] | None, site: str | None, at: datetime, days: int
) -> ControlTower:
    """The control tower of these sites (None: every site) as of ``at``, with health scores
    over the ``days`` before it. ``site`` is what the caller asked for (None: all theirs)."""
    today = at.date()
    return ControlTower(
        site=site,
        at=at,
        today=today,
        orders=await _orders(conn, sites, today),
        shipments=await _shipments(conn, sites),
        pick_tasks=await _pick_tasks(conn, sites, today),
        work_orders=await _work_orders(conn, sites),
        edges=await _edges(conn, sites),
        conflicts=await _conflicts(conn, sites),
        lps_on_hold=await _holds(conn, sites),
        health=await health(conn, sites=sites, at=at, days=days),
    )

"""Shipments through the API: planned from released orders, listed, and shown with the LPs
they are to carry, the LPs loaded, and what is still missing."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.clock import now
from central.db.enums import ShipmentStatus
from central.db.rows import page
from central.db.tables import customers, sales_orders, shipment_orders, shipments
from central.errors import ActionConflict, InvalidReference, NotFound
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType
from central.orders.records import link_shipment, next_numbers
from central.shipping.picked import LoadedLp, ShipLp, loaded_lps, planned_lps

# An order may go onto a shipment once released to the warehouse and until it has shipped.
PLANNABLE = ("released", "picking", "picked")


@dataclass(frozen=True, slots=True)
class ShipmentOrder:
    """An order a shipment serves."""

    id: int
    number: str
    status: str
    customer: str


@dataclass(frozen=True, slots=True)
class Shipment:
    """A shipment and its orders; ``planned``/``loaded``/``missing`` only when shown alone."""

    id: int
    site: str
    number: str
    status: ShipmentStatus
    carrier: str | None
    tracking_number: str | None
    planned_date: date | None
    po_number: str | None
    short_ship_reason: str | None
    created_at: datetime
    status_at: datetime | None
    dispatched_at: datetime | None
    delivered_at: datetime | None
    orders: list[ShipmentOrder]
    loaded_count: int
    planned: list[ShipLp] | None = None
    loaded: list[LoadedLp] | None = None
    missing: list[ShipLp] | None = None


async def orders_of(conn: AsyncConnection, ids: list[int]) -> dict[int, list[ShipmentOrder]]:
    """The orders each shipment serves, by order number."""
    found: dict[int, list[ShipmentOrder]] = {i: [] for i in ids}
    if not ids:
        return found
    query = (
        select(
            shipment_orders.c.shipment_id,
            sales_orders.c.id,
            sales_orders.c.number,
            sales_orders.c.status,
            customers.c.code.label("customer"),
        )
        .join(sales_orders, sales_orders.c.id == shipment_orders.c.order_id)
        .join(customers, customers.c.id == sales_orders.c.customer_id)
        .where(shipment_orders.c.shipment_id.in_(ids))
        .order_by(sales_orders.c.number)
    )
    for row in await conn.execute(query):
        found[row.shipment_id].append(ShipmentOrder(row.id, row.number, row.status, row.customer))
    return found


async def _shipments(conn: AsyncConnection, rows: list[Any], *, whole: bool) -> list[Shipment]:
    """Shipments of ``rows`` with their orders (and, ``whole``, their LPs)."""
    ids = [row.id for row in rows]
    orders = await orders_of(conn, ids)
    loaded = await loaded_lps(conn, ids)
    answer = []
    for row in rows:
        extra: dict[str, Any] = {}
        if whole:
            planned = await planned_lps(conn, row.id)
            on = {lp.lp_id for lp in loaded[row.id]}
            extra = {
                "planned": planned,
                "loaded": loaded[row.id],
                "missing": [lp for lp in planned if lp.lp_id not in on],
            }
        answer.append(
            Shipment(
                id=row.id,
                site=row.site,
                number=row.number,
                status=row.status,
                carrier=row.carrier,
                tracking_number=row.tracking_number,
                planned_date=row.planned_date,
                po_number=row.po_number,
                short_ship_reason=row.short_ship_reason,
                created_at=row.created_at,
                status_at=row.status_at,
                dispatched_at=row.dispatched_at,
                delivered_at=row.delivered_at,
                orders=orders[row.id],
                loaded_count=len(loaded[row.id]),
                **extra,
            )
        )
    return answer


async def _plannable_orders(conn: AsyncConnection, *, site: str, order_ids: list[int]) -> list[int]:
    """The orders, locked, each at ``site`` and in a status a shipment may be planned from."""
    wanted = sorted(set(order_ids))
    rows = {
        row.id: row
        for row in await conn.execute(
            select(sales_orders.c.id, sales_orders.c.number, sales_orders.c.status)
            .where(sales_orders.c.site == site, sales_orders.c.id.in_(wanted))
            .order_by(sales_orders.c.id)
            .with_for_update()
        )
    }
    unknown = [i for i in wanted if i not in rows]
    if unknown:
        raise InvalidReference(
            f"order(s) {', '.join(map(str, unknown))} do not exist at {site}",
            details={"orders": unknown, "site": site},
        )
    refused = [rows[i] for i in wanted if rows[i].status not in PLANNABLE]
    if refused:
        said = ", ".join(f"{r.number} is {r.status}" for r in refused)
        raise ActionConflict(
            f"a shipment is planned from released orders only: {said}",
            code="ORDER_NOT_RELEASED",
            details={
                "orders": [{"id": r.id, "number": r.number, "status": r.status} for r in refused],
                "allowed": list(PLANNABLE),
            },
        )
    return wanted


async def plan_shipment(
    conn: AsyncConnection,
    *,
    caller: Caller,
    site: str,
    order_ids: list[int],
    carrier: str | None,
    tracking_number: str | None,
    planned_date: date | None,
) -> Shipment:
    """A planned shipment (a new SH- number) serving these released orders."""
    caller.require_site(site)
    orders = await _plannable_orders(conn, site=site, order_ids=order_ids)
    (number,) = await next_numbers(conn, "shipment")
    at = now()
    shipment_id = (
        await conn.execute(
            insert(shipments)
            .values(
                site=site,
                number=number,
                carrier=carrier,
                tracking_number=tracking_number,
                planned_date=planned_date,
                status="planned",
                created_at=at,
                updated_at=at,
                status_at=at,
            )
            .returning(shipments.c.id)
        )
    ).scalar_one()
    await link_shipment(conn, shipment_id, orders)
    entry = await audit.record(
        conn,
        caller=caller,
        action="shipment.plan",
        target=number,
        site=site,
        details={"orders": orders, "carrier": carrier},
    )
    shipment = await get_shipment(conn, caller=caller, shipment_id=shipment_id)
    await _planned(conn, shipment, added=orders, caller=caller, cause=entry)
    return shipment


async def add_orders(
    conn: AsyncConnection, *, caller: Caller, shipment_id: int, order_ids: list[int]
) -> Shipment:
    """Plan more released orders onto a shipment that is still ``planned`` (loading has not
    begun, so what it is to carry may still grow)."""
    row = await shipment_row(conn, caller=caller, shipment_id=shipment_id, lock=True)
    caller.require_site(row.site)
    if row.status != "planned":
        raise ActionConflict(
            f"shipment {row.number} is {row.status}; orders are added to planned shipments only",
            code="SHIPMENT_NOT_PLANNED",
            details={"shipment": row.number, "status": row.status},
        )
    orders = await _plannable_orders(conn, site=row.site, order_ids=order_ids)
    await link_shipment(conn, row.id, orders)
    entry = await audit.record(
        conn,
        caller=caller,
        action="shipment.add_orders",
        target=row.number,
        site=row.site,
        details={"orders": orders},
    )
    shipment = await get_shipment(conn, caller=caller, shipment_id=row.id)
    await _planned(conn, shipment, added=orders, caller=caller, cause=entry)
    return shipment


async def _planned(
    conn: AsyncConnection, shipment: Shipment, *, added: list[int], caller: Caller, cause: str
) -> None:
    """Write ``shipment.planned``: the shipment got orders, and with them the LPs it is to
    carry (the edges' load stations learn of it from this event)."""
    new = set(added)
    await write_events(
        conn,
        [
            DomainEvent(
                EventType.SHIPMENT_PLANNED,
                shipment.site,
                shipment.number,
                {
                    "status": shipment.status,
                    "orders": [o.number for o in shipment.orders],
                    "added": [o.number for o in shipment.orders if o.id in new],
                    "carrier": shipment.carrier,
                    "planned_date": shipment.planned_date,
                    "planned": [lp.lp for lp in shipment.planned or []],
                    "operator": caller.name,
                },
                cause=cause,
            )
        ],
    )


async def list_shipments(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    status: str | None = None,
    order_id: int | None = None,
    carrier: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Shipment]:
    """Shipments of ``sites`` (None: all), newest first, with their orders."""
    limit, offset = page(limit, offset)
    query = select(shipments).order_by(shipments.c.id.desc())
    if sites is not None:
        query = query.where(shipments.c.site.in_(sites))
    if status is not None:
        query = query.where(shipments.c.status == status)
    if carrier is not None:
        query = query.where(shipments.c.carrier == carrier)
    if order_id is not None:
        query = query.where(
            shipments.c.id.in_(
                select(shipment_orders.c.shipment_id).where(shipment_orders.c.order_id == order_id)
            )
        )
    rows = list(await conn.execute(query.limit(limit).offset(offset)))
    return await _shipments(conn, rows, whole=False)


async def shipment_row(
    conn: AsyncConnection, *, caller: Caller, shipment_id: int, lock: bool = False
) -> Any:
    """The shipment's row, or NotFound (also for another site's)."""
    query = select(shipments).where(shipments.c.id == shipment_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None or not caller.sees(row.site):  # another plant's: as if it did not exist
        raise NotFound(
            f"shipment {shipment_id} does not exist",
            code="SHIPMENT_NOT_FOUND",
            details={"id": shipment_id},
        )
    return row


async def get_shipment(conn: AsyncConnection, *, caller: Caller, shipment_id: int) -> Shipment:
    """One shipment: its orders, the LPs it is to carry, those loaded, and what is missing."""
    row = await shipment_row(conn, caller=caller, shipment_id=shipment_id)
    return (await _shipments(conn, [row], whole=True))[0]

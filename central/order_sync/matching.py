"""Shipments matched to purchase orders by normalized PO number: matched ones point at
their PO and serve its order; the rest are orphans, kept visible, adopted when their PO
arrives and linkable by hand."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, Select, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.clock import now
from central.db.rows import page
from central.db.tables import purchase_orders, sales_orders, shipment_orders, shipments
from central.errors import ActionConflict, Ambiguous, NotFound
from central.orders.records import link_shipment
from central.purchasing.po_numbers import normalize


@dataclass(frozen=True, slots=True)
class PoMatch:
    """A purchase order a shipment can point at."""

    id: int
    number: str
    order_id: int | None


@dataclass(frozen=True, slots=True)
class ShipmentView:
    """A shipment as the orphan list and a link show it."""

    id: int
    site: str
    number: str
    carrier: str | None
    tracking_number: str | None
    status: str
    planned_date: date | None
    po_number: str | None  # as the shipment carries it
    normalized_po_number: str | None  # what it is matched by
    po: str | None  # the purchase order it points at (None: an orphan)
    orders: list[str]  # the orders it serves
    created_at: datetime
    status_at: datetime | None


async def pos_by_normalized(
    conn: AsyncConnection, site: str, normalized: Iterable[str]
) -> dict[str, list[PoMatch]]:
    """The site's purchase orders with these normalized numbers (one query)."""
    wanted = sorted(set(normalized))
    found: dict[str, list[PoMatch]] = {n: [] for n in wanted}
    if not wanted:
        return found
    query = select(
        purchase_orders.c.id,
        purchase_orders.c.number,
        purchase_orders.c.order_id,
        purchase_orders.c.normalized_number,
    ).where(purchase_orders.c.site == site, purchase_orders.c.normalized_number.in_(wanted))
    for row in await conn.execute(query.order_by(purchase_orders.c.id)):
        found[row.normalized_number].append(PoMatch(row.id, row.number, row.order_id))
    return found


async def point_at(conn: AsyncConnection, shipment_id: int, po: PoMatch) -> None:
    """Make the shipment point at the PO and serve its order (stats recomputed)."""
    await conn.execute(
        update(shipments).where(shipments.c.id == shipment_id).values(po_id=po.id, updated_at=now())
    )
    if po.order_id is not None:
        await link_shipment(conn, shipment_id, [po.order_id])


async def match(conn: AsyncConnection, *, site: str, shipment_id: int, po_number: str) -> bool:
    """Point the shipment at the one PO its number matches; False (an orphan) when none or
    several match."""
    key = normalize(po_number)
    found = (await pos_by_normalized(conn, site, [key]))[key]
    if len(found) != 1:
        return False
    await point_at(conn, shipment_id, found[0])
    return True


async def adopt_orphans(conn: AsyncConnection, site: str, normalized: Iterable[str]) -> int:
    """Point the site's orphans whose PO number is among ``normalized`` (purchase orders that
    just arrived) at their PO; answers how many."""
    arrived = set(normalized)
    if not arrived:
        return 0
    orphans = await conn.execute(
        select(shipments.c.id, shipments.c.po_number).where(
            shipments.c.site == site,
            shipments.c.po_id.is_(None),
            shipments.c.po_number.is_not(None),
        )
    )
    waiting = {row.id: normalize(row.po_number) for row in orphans}
    waiting = {sid: key for sid, key in waiting.items() if key in arrived}
    found = await pos_by_normalized(conn, site, waiting.values())
    adopted = 0
    for shipment_id, key in sorted(waiting.items()):
        if len(found[key]) == 1:
            await point_at(conn, shipment_id, found[key][0])
            adopted += 1
    return adopted


async def _views(conn: AsyncConnection, rows: list[Row[Any]]) -> list[ShipmentView]:
    """Shipment rows with their PO number and the orders they serve (one more query)."""
    ids = [row.id for row in rows]
    served: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        query = (
            select(shipment_orders.c.shipment_id, sales_orders.c.number)
            .join(sales_orders, sales_orders.c.id == shipment_orders.c.order_id)
            .where(shipment_orders.c.shipment_id.in_(ids))
            .order_by(sales_orders.c.number)
        )
        for link in await conn.execute(query):
            served[link.shipment_id].append(link.number)
    return [
        ShipmentView(
            id=r.id,
            site=r.site,
            number=r.number,
            carrier=r.carrier,
            tracking_number=r.tracking_number,
            status=r.status,
            planned_date=r.planned_date,
            po_number=r.po_number,
            normalized_po_number=None if r.po_number is None else normalize(r.po_number),
            po=r.po,
            orders=served[r.id],
            created_at=r.created_at,
            status_at=r.status_at,
        )
        for r in rows
    ]


def _shipments_with_po() -> Select[Any]:
    """Shipment rows with the number of the PO they point at."""
    return select(*shipments.c, purchase_orders.c.number.label("po")).outerjoin(
        purchase_orders, purchase_orders.c.id == shipments.c.po_id
    )


async def list_orphans(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ShipmentView]:
    """Shipments whose PO number matched no purchase order, newest first."""
    limit, offset = page(limit, offset)
    query = _shipments_with_po().where(
        shipments.c.po_id.is_(None), shipments.c.po_number.is_not(None)
    )
    if sites is not None:
        query = query.where(shipments.c.site.in_(sites))
    if status is not None:
        query = query.where(shipments.c.status == status)
    query = query.order_by(shipments.c.id.desc()).limit(limit).offset(offset)
    return await _views(conn, list(await conn.execute(query)))


async def link_by_hand(
    conn: AsyncConnection, *, caller: Caller, shipment_id: int, po_number: str
) -> ShipmentView:
    """Point a shipment that has no purchase order at the one named (by its number, or its
    normalized number), so it serves that PO's order; audited."""
    row = (
        await conn.execute(select(shipments).where(shipments.c.id == shipment_id).with_for_update())
    ).one_or_none()
    if row is None or not caller.sees(row.site):
        raise NotFound(
            f"shipment {shipment_id} does not exist",
            code="SHIPMENT_NOT_FOUND",
            details={"shipment": shipment_id},
        )
    caller.require_site(row.site)
    if row.po_id is not None:
        linked = await conn.scalar(
            select(purchase_orders.c.number).where(purchase_orders.c.id == row.po_id)
        )
        raise ActionConflict(
            f"shipment {row.number} is already linked to purchase order {linked}",
            code="SHIPMENT_ALREADY_LINKED",
            details={"shipment": row.number, "po_number": linked},
        )
    po = await _po_named(conn, row.site, po_number)
    if row.po_number is None:
        await conn.execute(
            update(shipments).where(shipments.c.id == row.id).values(po_number=po_number)
        )
    await point_at(conn, row.id, po)
    order = None
    if po.order_id is not None:
        order = await conn.scalar(
            select(sales_orders.c.number).where(sales_orders.c.id == po.order_id)
        )
    await audit.record(
        conn,
        caller=caller,
        action="shipment.link",
        target=row.number,
        site=row.site,
        details={"po_number": po.number, "given": po_number, "order": order},
    )
    (view,) = await _views(
        conn, list(await conn.execute(_shipments_with_po().where(shipments.c.id == row.id)))
    )
    return view


async def _po_named(conn: AsyncConnection, site: str, po_number: str) -> PoMatch:
    """The site's purchase order with exactly this number, else the one with its normalized
    number; NotFound or Ambiguous otherwise."""
    exact = (
        await conn.execute(
            select(
                purchase_orders.c.id, purchase_orders.c.number, purchase_orders.c.order_id
            ).where(purchase_orders.c.site == site, purchase_orders.c.number == po_number)
        )
    ).one_or_none()
    if exact is not None:
        return PoMatch(exact.id, exact.number, exact.order_id)
    key = normalize(po_number)
    found = (await pos_by_normalized(conn, site, [key]))[key]
    if not found:
        raise NotFound(
            f"no purchase order {po_number} at {site}",
            code="PO_NOT_FOUND",
            details={"po_number": po_number, "normalized": key, "site": site},
        )
    if len(found) > 1:
        numbers = [po.number for po in found]
        raise Ambiguous(
            f"{po_number} matches several purchase orders at {site} ({', '.join(numbers)}); "
            "name one exactly",
            code="PO_AMBIGUOUS",
            details={"po_number": po_number, "normalized": key, "candidates": numbers},
        )
    return found[0]

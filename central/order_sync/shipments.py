"""Shipments known by their carrier's tracking number, made or moved on by the order system
or by a carrier's tracking update: a new status is taken when it is not older than the one
the shipment has, and the orders it serves get their stats recomputed."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.enums import SHIPMENT_NOT_LEFT
from central.db.tables import shipments
from central.order_sync.matching import match
from central.order_sync.source import TrackingStatus
from central.orders.records import next_numbers
from central.orders.stats import orders_of_shipments, recompute_order_stats

# Statuses of a shipment the plant has not dispatched yet: no outside status moves it on.
NOT_LEFT = SHIPMENT_NOT_LEFT


@dataclass(frozen=True, slots=True)
class Tracked:
    """What one update did to its shipment."""

    shipment_id: int
    number: str
    status: str  # the shipment's status after the update
    created: bool
    changed: bool  # anything written to an existing shipment
    orphan: bool  # it carries a PO number that matches no purchase order
    linked: bool  # this update matched it to its purchase order


async def find_tracked(
    conn: AsyncConnection, *, site: str | None, tracking_number: str, carrier: str | None
) -> Any:
    """The newest shipment with this tracking number (at ``site`` when given; of this carrier,
    or of none named), its row locked."""
    query = select(shipments).where(shipments.c.tracking_number == tracking_number)
    if site is not None:
        query = query.where(shipments.c.site == site)
    if carrier is not None:
        query = query.where(or_(shipments.c.carrier == carrier, shipments.c.carrier.is_(None)))
    query = query.order_by(shipments.c.id.desc()).limit(1).with_for_update()
    return (await conn.execute(query)).one_or_none()


async def track(
    conn: AsyncConnection,
    *,
    site: str,
    tracking_number: str,
    carrier: str | None,
    status: TrackingStatus,
    occurred_at: datetime | None,
    po_number: str | None,
    at: datetime,
    row: Any = None,
) -> Tracked:
    """Make the shipment (a new SH number) or move it on; ``row``: the shipment already
    found by ``find_tracked``."""
    when = occurred_at or at
    if row is None:
        row = await find_tracked(conn, site=site, tracking_number=tracking_number, carrier=carrier)
    if row is None:
        return await _create(conn, site, tracking_number, carrier, status, when, po_number, at)
    changes: dict[str, Any] = {}
    moves = (
        row.status != status
        and row.status != "cancelled"
        and row.status not in NOT_LEFT
        and (row.status_at is None or when >= row.status_at)
    )
    if moves:
        changes |= {"status": status, "status_at": when}
        if status == "delivered":
            changes["delivered_at"] = when
    if carrier is not None and row.carrier is None:
        changes["carrier"] = carrier
    rematch = po_number is not None and row.po_id is None and po_number != row.po_number
    if rematch:
        changes["po_number"] = po_number
    if changes:
        await conn.execute(
            update(shipments).where(shipments.c.id == row.id).values(**changes, updated_at=at)
        )
    linked, linked_now = row.po_id is not None, False
    if rematch and po_number is not None:
        linked = linked_now = await match(
            conn, site=row.site, shipment_id=row.id, po_number=po_number
        )
    if moves:
        await recompute_order_stats(conn, await orders_of_shipments(conn, [row.id]))
    return Tracked(
        shipment_id=row.id,
        number=row.number,
        status=changes.get("status", row.status),
        created=False,
        changed=bool(changes),
        orphan=not linked and (po_number or row.po_number) is not None,
        linked=linked_now,
    )


async def _create(
    conn: AsyncConnection,
    site: str,
    tracking_number: str,
    carrier: str | None,
    status: TrackingStatus,
    when: datetime,
    po_number: str | None,
    at: datetime,
) -> Tracked:
    """A new shipment in the reported status, matched to its PO when it names one."""
    (number,) = await next_numbers(conn, "shipment")
    made = await conn.execute(
        insert(shipments)
        .values(
            site=site,
            number=number,
            carrier=carrier,
            tracking_number=tracking_number,
            status=status,
            po_number=po_number,
            created_at=at,
            updated_at=at,
            status_at=when,
            delivered_at=when if status == "delivered" else None,
        )
        .returning(shipments.c.id)
    )
    shipment_id = int(made.scalar_one())
    linked = False
    if po_number is not None:
        linked = await match(conn, site=site, shipment_id=shipment_id, po_number=po_number)
    return Tracked(
        shipment_id=shipment_id,
        number=number,
        status=status,
        created=True,
        changed=False,
        orphan=po_number is not None and not linked,
        linked=linked,
    )

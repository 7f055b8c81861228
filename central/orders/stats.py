"""An order's kept stats: how many shipments serve it, the status of the latest, and how
many purchase orders it has.

They are recomputed for the orders a change touches (a shipment made, linked or moved to a
new status; a purchase order synced or linked), in one statement per stat, never by a
rebuild of every order. Whoever changes a shipment's status or links calls
``recompute_order_stats`` with the orders it serves (``orders_of_shipments`` finds them).
"""

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import purchase_orders, sales_orders, shipment_orders, shipments


async def orders_of_shipments(conn: AsyncConnection, shipment_ids: Iterable[int]) -> set[int]:
    """The orders the given shipments serve."""
    ids = list(set(shipment_ids))
    if not ids:
        return set()
    rows = await conn.scalars(
        select(shipment_orders.c.order_id).where(shipment_orders.c.shipment_id.in_(ids))
    )
    return set(rows)


async def recompute_order_stats(conn: AsyncConnection, order_ids: Iterable[int]) -> None:
    """Set shipment_count, latest_shipment_status and po_count of these orders from the rows
    they derive from. The latest shipment is the one whose status changed last (then the
    newest)."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    served = shipment_orders.c.order_id == sales_orders.c.id
    count = select(func.count()).select_from(shipment_orders).where(served).scalar_subquery()
    latest = (
        select(shipments.c.status)
        .join(shipment_orders, shipment_orders.c.shipment_id == shipments.c.id)
        .where(served)
        .order_by(
            func.coalesce(shipments.c.status_at, shipments.c.created_at).desc(),
            shipments.c.id.desc(),
        )
        .limit(1)
        .scalar_subquery()
    )
    pos = (
        select(func.count())
        .select_from(purchase_orders)
        .where(purchase_orders.c.order_id == sales_orders.c.id)
        .scalar_subquery()
    )
    await conn.execute(
        update(sales_orders)
        .where(sales_orders.c.id.in_(ids))
        .values(shipment_count=count, latest_shipment_status=latest, po_count=pos)
    )

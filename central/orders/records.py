"""The records every way of making orders and shipments shares: customers found or made by
code, numbers from a sequence, and the link between a shipment and the orders it serves.

Orders come from the API (central/orders/service.py) and from an outside order system
(central/order_sync/); shipments are planned from orders or made by a carrier's tracking
update. Whatever makes them writes these rows through here, so the rules live once.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.apply.sscc import reserve_serials
from central.db.tables import customers, shipment_orders
from central.orders.stats import recompute_order_stats

# Sequence name -> the prefix of the numbers it gives (SO-000001, SH-000001, ...).
PREFIXES = {
    "sales_order": "SO",
    "shipment": "SH",
    "pick_task": "PT",
    "invoice": "INV",
    "pick_wave": "WAVE",  # one per release call: the wave its pick tasks belong to
}


async def next_numbers(conn: AsyncConnection, sequence: str, count: int = 1) -> list[str]:
    """``count`` new numbers of a document kind, such as ``SO-000042``: unique across replicas
    (the sequence row is locked until commit); numbers of a rolled-back call are skipped."""
    prefix = PREFIXES[sequence]
    return [f"{prefix}-{n:06d}" for n in await reserve_serials(conn, count, name=sequence)]


async def customer_id(
    conn: AsyncConnection, site: str, code: str, at: datetime, name: str | None = None
) -> int:
    """The id of the site's customer with this code, made on first use (named ``name``, or
    its code). A later order with another name does not rename it."""
    found = await conn.scalar(
        select(customers.c.id).where(customers.c.site == site, customers.c.code == code)
    )
    if found is not None:
        return int(found)
    made = await conn.execute(
        insert(customers)
        .values(site=site, code=code, name=name or code, created_at=at)
        .returning(customers.c.id)
    )
    return int(made.scalar_one())


async def link_shipment(conn: AsyncConnection, shipment_id: int, order_ids: Iterable[int]) -> None:
    """Record that a shipment serves these orders (once each), and recompute their stats."""
    wanted = set(order_ids)
    if not wanted:
        return
    have = set(
        await conn.scalars(
            select(shipment_orders.c.order_id).where(
                shipment_orders.c.shipment_id == shipment_id,
                shipment_orders.c.order_id.in_(wanted),
            )
        )
    )
    new = sorted(wanted - have)
    if new:
        await conn.execute(
            insert(shipment_orders),
            [{"shipment_id": shipment_id, "order_id": order_id} for order_id in new],
        )
    await recompute_order_stats(conn, wanted)

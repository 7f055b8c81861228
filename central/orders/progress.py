"""How far picking has brought an order: its lines and the order itself step forward from
what their tasks and counters say, after every release and pick.

A line is ``picked`` when it has no open task, nothing short, and something picked; the
order is ``picking`` from its first pick and ``picked`` when every line that is not
cancelled is picked. A line with a short part stays ``released`` (and so does the order at
``picking``) until a later release covers the short part and its tasks are done.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import pick_tasks, sales_order_lines, sales_orders

PICKABLE = ("released", "picking")  # order statuses picking moves forward


async def refresh(conn: AsyncConnection, order_ids: Iterable[int], at: datetime) -> list[int]:
    """Step the lines and orders forward that their tasks and counters allow; answers the
    orders that became ``picked`` (every live line picked)."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    open_tasks = (
        select(pick_tasks.c.order_line_id, func.count().label("n"))
        .where(pick_tasks.c.order_id.in_(ids), pick_tasks.c.status == "open")
        .group_by(pick_tasks.c.order_line_id)
        .subquery("open_tasks")
    )
    lines = (
        await conn.execute(
            select(
                sales_order_lines.c.id,
                sales_order_lines.c.order_id,
                sales_order_lines.c.status,
                sales_order_lines.c.qty_short,
                sales_order_lines.c.qty_picked,
                open_tasks.c.n,
            )
            .outerjoin(open_tasks, open_tasks.c.order_line_id == sales_order_lines.c.id)
            .where(sales_order_lines.c.order_id.in_(ids))
        )
    ).all()
    done = [
        line.id
        for line in lines
        if line.status == "released" and not line.n and line.qty_short == 0 and line.qty_picked > 0
    ]
    if done:
        await conn.execute(
            update(sales_order_lines)
            .where(sales_order_lines.c.id.in_(done))
            .values(status="picked")
        )
    statuses = dict(
        (
            await conn.execute(
                select(sales_orders.c.id, sales_orders.c.status).where(sales_orders.c.id.in_(ids))
            )
        ).all()
    )
    picked = []
    for order_id, status in statuses.items():
        if status not in PICKABLE:
            continue
        mine = [line for line in lines if line.order_id == order_id]
        live = [line for line in mine if line.status != "cancelled"]
        target = status
        if live and all(line.status == "picked" or line.id in done for line in live):
            target = "picked"
        elif any(line.qty_picked > 0 for line in mine):
            target = "picking"
        if target != status:
            await conn.execute(
                update(sales_orders)
                .where(sales_orders.c.id == order_id)
                .values(status=target, updated_at=at)
            )
            if target == "picked":
                picked.append(order_id)
    return picked

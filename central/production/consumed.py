"""What went into work orders, as the ledger says: one definition of "consumed" for the API's
materials (``GET /work-orders/{id}/materials``) and the edges' work order records, so a kiosk
shows the figure the office sees.

A material line has taken what the ledger's CONSUME rows on the work order took of its
component and of its alternatives; CONSUME rows are negative, the figures here positive.
"""

from collections.abc import Collection, Iterable
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import material_alternatives, products, stock_moves


async def consumed_by_product(
    conn: AsyncConnection, work_order_ids: Collection[int]
) -> dict[int, dict[int, Decimal]]:
    """Per work order, how much of each product (by id) was consumed into it (one query)."""
    found: dict[int, dict[int, Decimal]] = {wo: {} for wo in work_order_ids}
    if not found:
        return found
    rows = await conn.execute(
        select(stock_moves.c.work_order_id, stock_moves.c.product_id, func.sum(stock_moves.c.qty))
        .where(
            stock_moves.c.work_order_id.in_(sorted(found)),
            stock_moves.c.kind == "CONSUME",
        )
        .group_by(stock_moves.c.work_order_id, stock_moves.c.product_id)
    )
    for wo, product, qty in rows:
        found[wo][product] = -qty
    return found


async def alternatives_of(
    conn: AsyncConnection, material_ids: Collection[int]
) -> dict[int, list[tuple[int, str]]]:
    """Each material line's alternatives as (product id, code), in the order they were copied
    from the BOM (lines without any are left out; one query)."""
    found: dict[int, list[tuple[int, str]]] = {}
    if not material_ids:
        return found
    for material_id, product_id, code in await conn.execute(
        select(material_alternatives.c.material_id, products.c.id, products.c.code)
        .join(products, products.c.id == material_alternatives.c.product_id)
        .where(material_alternatives.c.material_id.in_(sorted(material_ids)))
        .order_by(material_alternatives.c.id)
    ):
        found.setdefault(material_id, []).append((product_id, code))
    return found


def line_consumed(
    component_id: int, alternatives: Iterable[tuple[int, str]], consumed: dict[int, Decimal]
) -> Decimal:
    """What one material line has taken: its component and its alternatives together."""
    takes = (component_id, *(product for product, _ in alternatives))
    return sum((consumed.get(product, Decimal(0)) for product in takes), Decimal(0))

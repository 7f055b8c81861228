"""The parts of a reference record that are not in its row (a work order's materials with what
was consumed of each, a shipment's orders and LPs), and the open shipments of orders. Each is
read for many records at once and with the definitions central's own REST answers use
(``GET /work-orders/{id}/materials``, ``GET /shipments/{id}``), so an edge shows the figures
the office sees."""

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.enums import SHIPMENT_NOT_LEFT
from central.db.tables import (
    products,
    sales_orders,
    shipment_orders,
    shipments,
    work_order_materials,
)
from central.production.consumed import alternatives_of, consumed_by_product, line_consumed
from central.shipping.picked import loaded_lps, planned_lps
from central.shipping.planning import orders_of
from protocol.types import format_qty

CHUNK = 500  # ids per IN list


def chunks(keys: Collection[Any]) -> Iterable[list[Any]]:
    """``keys`` in order, in lists of at most CHUNK."""
    ordered = sorted(keys)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


async def materials(conn: AsyncConnection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each work order's material lines in line order: product, required (``qty``), unit,
    alternatives and ``qty_consumed`` (component and alternatives, from the ledger)."""
    found: dict[int, list[dict[str, Any]]] = {wo: [] for wo in ids}
    for chunk in chunks(ids):
        rows = (
            await conn.execute(
                select(
                    work_order_materials.c.id,
                    work_order_materials.c.work_order_id,
                    work_order_materials.c.component_id,
                    work_order_materials.c.qty_required,
                    products.c.code,
                    products.c.uom,
                )
                .join(products, products.c.id == work_order_materials.c.component_id)
                .where(work_order_materials.c.work_order_id.in_(chunk))
                .order_by(
                    work_order_materials.c.work_order_id,
                    work_order_materials.c.line,
                    work_order_materials.c.id,
                )
            )
        ).all()
        consumed = await consumed_by_product(conn, chunk)
        alternatives = await alternatives_of(conn, [row.id for row in rows])
        for row in rows:
            others = alternatives.get(row.id, [])
            used = line_consumed(row.component_id, others, consumed[row.work_order_id])
            found[row.work_order_id].append(
                {
                    "product": row.code,
                    "qty": format_qty(row.qty_required),
                    "uom": row.uom,
                    "alternatives": [code for _, code in others],
                    "qty_consumed": format_qty(used),
                }
            )
    return found


async def shipment_parts(conn: AsyncConnection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each shipment's orders (numbers), the LPs it is to carry (``planned``) and those
    loaded onto it, as ``GET /shipments/{id}`` lists them."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in chunks(ids):
        orders = await orders_of(conn, chunk)
        loaded = await loaded_lps(conn, chunk)
        for shipment_id in chunk:
            numbers = [order.number for order in orders[shipment_id]]
            found[shipment_id] = {
                "order": numbers[0] if len(numbers) == 1 else None,
                "orders": numbers,
                # One query per shipment: what it is to carry depends on the other live
                # shipments; a step names a few shipments, a snapshot the site's open ones.
                "planned": [lp.lp for lp in await planned_lps(conn, shipment_id)],
                "loaded": [lp.lp for lp in loaded[shipment_id]],
            }
    return found


async def open_shipments_of(
    conn: AsyncConnection, site: str, orders: Collection[str]
) -> list[tuple[str, str]]:
    """(order number, shipment number) for each shipment not yet gone that serves one of
    ``orders`` at ``site``."""
    found: list[tuple[str, str]] = []
    for chunk in chunks(orders):
        rows = await conn.execute(
            select(sales_orders.c.number, shipments.c.number.label("shipment"))
            .join(shipment_orders, shipment_orders.c.order_id == sales_orders.c.id)
            .join(shipments, shipments.c.id == shipment_orders.c.shipment_id)
            .where(
                sales_orders.c.site == site,
                sales_orders.c.number.in_(chunk),
                shipments.c.status.in_(SHIPMENT_NOT_LEFT),
            )
        )
        found += [(row.number, row.shipment) for row in rows]
    return found

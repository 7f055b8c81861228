"""What picking leaves for shipping: which order line each picked LP is held for, the LPs a
shipment is to carry, and the LPs loaded onto it.

A picked LP is the ``picked_lp_id`` of a done pick task (the source LP on a whole-LP pick,
the child split off it on a partial one); the task says its order and line, and the order
line's reservation stays active on it until dispatch. An order or line cancelled since gives
its LPs back, so their tasks no longer count.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.enums import SHIPMENT_LEFT, SHIPMENT_NOT_LEFT
from central.db.tables import (
    license_plates,
    locations,
    pick_tasks,
    products,
    sales_order_lines,
    sales_orders,
    shipment_lps,
    shipment_orders,
    shipments,
)

# A shipment that still has, or had, its LPs: loaded on one of these, an LP is spoken for.
LIVE_SHIPMENTS = SHIPMENT_NOT_LEFT + SHIPMENT_LEFT
# Statuses an order keeps its picked LPs in (cancelled gave them back).
_LIVE_ORDER = sales_orders.c.status != "cancelled"
_LIVE_LINE = sales_order_lines.c.status != "cancelled"


@dataclass(frozen=True, slots=True)
class PickedFor:
    """The order line a picked LP is held for, and the pick task that picked it."""

    lp_id: int
    order_id: int
    order: str
    order_line_id: int
    line: int
    task: str


@dataclass(frozen=True, slots=True)
class ShipLp:
    """An LP as a shipment shows it: what it holds, where, and for which order line."""

    lp: str
    product: str
    qty: Decimal
    uom: str
    lot: str | None
    expiry: date | None
    status: str
    location: str
    order: str | None
    line: int | None
    lp_id: int
    order_line_id: int | None


@dataclass(frozen=True, slots=True)
class LoadedLp(ShipLp):
    """An LP loaded onto a shipment: when (device time), and what dispatch shipped of it."""

    loaded_at: datetime
    qty_shipped: Decimal | None


def _picked_query() -> Any:
    """Done pick tasks of live orders and lines, with their order's and line's numbers,
    oldest first (so a later pick of the same LP wins)."""
    return (
        select(
            pick_tasks.c.picked_lp_id.label("lp_id"),
            pick_tasks.c.order_id,
            sales_orders.c.number.label("order"),
            pick_tasks.c.order_line_id,
            sales_order_lines.c.line,
            pick_tasks.c.number.label("task"),
        )
        .join(sales_orders, sales_orders.c.id == pick_tasks.c.order_id)
        .join(sales_order_lines, sales_order_lines.c.id == pick_tasks.c.order_line_id)
        .where(pick_tasks.c.status == "done", _LIVE_ORDER, _LIVE_LINE)
        .order_by(pick_tasks.c.id)
    )


async def picked_for(conn: AsyncConnection, lp_ids: Iterable[int]) -> dict[int, PickedFor]:
    """The order line each of these LPs was picked for (LPs picked for none are left out)."""
    ids = sorted(set(lp_ids))
    if not ids:
        return {}
    rows = await conn.execute(_picked_query().where(pick_tasks.c.picked_lp_id.in_(ids)))
    return {row.lp_id: PickedFor(**row._mapping) for row in rows}


async def shipment_order_ids(conn: AsyncConnection, shipment_id: int) -> set[int]:
    """The orders a shipment serves."""
    query = select(shipment_orders.c.order_id).where(shipment_orders.c.shipment_id == shipment_id)
    return set(await conn.scalars(query))


def _lp_columns() -> list[Any]:
    """The columns of an LP as a shipment shows it."""
    return [
        license_plates.c.number.label("lp"),
        products.c.code.label("product"),
        license_plates.c.qty,
        license_plates.c.uom,
        license_plates.c.lot,
        license_plates.c.expiry,
        license_plates.c.status,
        locations.c.code.label("location"),
    ]


async def planned_lps(conn: AsyncConnection, shipment_id: int) -> list[ShipLp]:
    """What the shipment is to carry: the picked LPs of its orders' lines that are neither
    shipped (nor used up) nor loaded onto another shipment, by order, line and LP."""
    elsewhere = exists().where(
        shipment_lps.c.lp_id == license_plates.c.id,
        shipment_lps.c.shipment_id != shipment_id,
        shipment_lps.c.shipment_id.in_(
            select(shipments.c.id).where(shipments.c.status.in_(LIVE_SHIPMENTS))
        ),
    )
    picked = _picked_query().subquery("picked")
    query = (
        select(
            *_lp_columns(),
            picked.c.order,
            picked.c.line,
            license_plates.c.id.label("lp_id"),
            picked.c.order_line_id,
        )
        .select_from(picked)
        .join(license_plates, license_plates.c.id == picked.c.lp_id)
        .join(products, products.c.id == license_plates.c.product_id)
        .join(locations, locations.c.id == license_plates.c.location_id)
        .where(
            picked.c.order_id.in_(
                select(shipment_orders.c.order_id).where(
                    shipment_orders.c.shipment_id == shipment_id
                )
            ),
            license_plates.c.status.in_(("available", "on_hold")),
            ~elsewhere,
        )
        .order_by(picked.c.order, picked.c.line, license_plates.c.number)
    )
    found: dict[int, ShipLp] = {}
    for row in await conn.execute(query):
        found[row.lp_id] = ShipLp(**row._mapping)  # picked twice: the later pick counts
    return sorted(found.values(), key=lambda lp: (lp.order or "", lp.line or 0, lp.lp))


async def loaded_lps(
    conn: AsyncConnection, shipment_ids: Iterable[int]
) -> dict[int, list[LoadedLp]]:
    """The LPs loaded onto each shipment, in loading order."""
    ids = sorted(set(shipment_ids))
    found: dict[int, list[LoadedLp]] = {i: [] for i in ids}
    if not ids:
        return found
    query = (
        select(
            shipment_lps.c.shipment_id,
            *_lp_columns()[:2],
            shipment_lps.c.qty,
            *_lp_columns()[3:],
            sales_orders.c.number.label("order"),
            sales_order_lines.c.line,
            license_plates.c.id.label("lp_id"),
            shipment_lps.c.order_line_id,
            shipment_lps.c.loaded_at,
            shipment_lps.c.qty_shipped,
        )
        .select_from(
            shipment_lps.join(license_plates, license_plates.c.id == shipment_lps.c.lp_id)
            .join(products, products.c.id == license_plates.c.product_id)
            .join(locations, locations.c.id == license_plates.c.location_id)
            .outerjoin(sales_order_lines, sales_order_lines.c.id == shipment_lps.c.order_line_id)
            .outerjoin(sales_orders, and_(sales_orders.c.id == sales_order_lines.c.order_id))
        )
        .where(shipment_lps.c.shipment_id.in_(ids))
        .order_by(shipment_lps.c.id)
    )
    for row in await conn.execute(query):
        values = dict(row._mapping)
        found[values.pop("shipment_id")].append(LoadedLp(**values))
    return found


async def loaded_elsewhere(
    conn: AsyncConnection, shipment_id: int, lp_ids: Iterable[int]
) -> dict[int, str]:
    """LP id -> the number of the other live shipment it is loaded onto."""
    ids = sorted(set(lp_ids))
    if not ids:
        return {}
    query = (
        select(shipment_lps.c.lp_id, shipments.c.number)
        .join(shipments, shipments.c.id == shipment_lps.c.shipment_id)
        .where(
            shipment_lps.c.lp_id.in_(ids),
            shipment_lps.c.shipment_id != shipment_id,
            shipments.c.status.in_(LIVE_SHIPMENTS),
        )
    )
    return {row.lp_id: row.number for row in await conn.execute(query)}

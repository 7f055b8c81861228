"""The current state of reference records, as the edges receive it (one reader per kind).

Each kind is one SELECT with its joins (and, for work orders and shipments, a few batched
queries for the lines they hold: central/ref/details.py), read either for the keys a step of
events names (``read_items``: per kind and site, in chunks) or for everything an edge starting
empty needs (``live_items``: a snapshot). A row becomes a ``RefItem`` upsert with the data
shape of docs/events.md#reference-data-to-the-edges; a key asked for and not found becomes a
``delete``. Quantities are decimal strings and dates ISO, as everywhere on the wire.
"""

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select, true
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from central.clock import now
from central.db.enums import SHIPMENT_NOT_LEFT
from central.db.tables import (
    license_plates,
    locations,
    pick_tasks,
    products,
    quality_holds,
    sales_orders,
    shipments,
    stock_moves,
    work_orders,
)
from central.ref.details import chunks, materials, shipment_parts
from protocol import format_ts
from protocol.ref import RefItem

WO_FINISHED = ("completed", "closed", "cancelled")
LP_GONE = ("consumed", "shipped")


def _qty(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


# Reads the parts of records that are not in their rows, for many records at once by id.
Parts = Callable[[AsyncConnection, list[int]], Awaitable[dict[int, dict[str, Any]]]]


@dataclass(frozen=True)
class Kind:
    """How one kind is read: its query for a site, its key column, what is live, its data."""

    name: str
    query: Callable[[str], Select[Any]]
    key: ColumnElement[Any]
    live: Callable[[datetime], ColumnElement[bool]]
    data: Callable[[Row[Any]], dict[str, Any]]
    key_of: Callable[[Row[Any]], str]
    # What is not in the row, read for many records at once by their ids (central/ref/details.py).
    parts: Callable[[AsyncConnection, list[int]], Awaitable[dict[int, dict[str, Any]]]] | None = (
        None
    )


# -- product -----------------------------------------------------------------------------


def _product_query(site: str) -> Select[Any]:
    return select(products).where(products.c.site == site)


def _product_data(row: Row[Any]) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "uom": row.uom,
        "type": row.type,
        "gtins": [row.gtin] if row.gtin else [],
        "shelf_life_days": row.shelf_life_days,
    }


# -- location ----------------------------------------------------------------------------


def _location_query(site: str) -> Select[Any]:
    return select(locations).where(locations.c.site == site)


def _location_data(row: Row[Any]) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "kind": row.kind}


# -- work order (materials added by details.materials) -----------------------------------

_wo_product = products.alias("wo_product")


def _wo_query(site: str) -> Select[Any]:
    return (
        select(
            work_orders.c.id,
            work_orders.c.number,
            work_orders.c.qty_planned,
            work_orders.c.qty_produced,
            work_orders.c.status,
            _wo_product.c.code.label("product"),
            _wo_product.c.uom,
        )
        .join(_wo_product, _wo_product.c.id == work_orders.c.product_id)
        .where(work_orders.c.site == site)
    )


def _wo_live(cutoff: datetime) -> ColumnElement[bool]:
    return or_(
        work_orders.c.status.not_in(WO_FINISHED),
        work_orders.c.completed_at >= cutoff,
        work_orders.c.closed_at >= cutoff,
        work_orders.c.cancelled_at >= cutoff,
    )


def _wo_data(row: Row[Any]) -> dict[str, Any]:
    return {
        "number": row.number,
        "product": row.product,
        "qty_planned": _qty(row.qty_planned),
        "qty_produced": _qty(row.qty_produced),
        "uom": row.uom,
        "status": row.status,
    }


async def _wo_parts(conn: AsyncConnection, ids: list[int]) -> dict[int, dict[str, Any]]:
    return {wo: {"materials": lines} for wo, lines in (await materials(conn, ids)).items()}


# -- pick task ---------------------------------------------------------------------------

_task_lp = license_plates.alias("task_lp")
_task_from = locations.alias("task_from")
_task_to = locations.alias("task_to")


def _task_query(site: str) -> Select[Any]:
    return (
        select(
            pick_tasks.c.number,
            pick_tasks.c.wave,
            pick_tasks.c.sequence,
            pick_tasks.c.qty,
            pick_tasks.c.qty_picked,
            pick_tasks.c.status,
            pick_tasks.c.assignee,
            sales_orders.c.number.label("order"),
            products.c.code.label("product"),
            _task_lp.c.number.label("lp"),
            _task_from.c.code.label("location"),
            _task_to.c.code.label("to_location"),
        )
        .join(sales_orders, sales_orders.c.id == pick_tasks.c.order_id)
        .join(products, products.c.id == pick_tasks.c.product_id)
        .join(_task_lp, _task_lp.c.id == pick_tasks.c.lp_id)
        .join(_task_from, _task_from.c.id == pick_tasks.c.location_id)
        .join(_task_to, _task_to.c.id == pick_tasks.c.to_location_id)
        .where(pick_tasks.c.site == site)
    )


def _task_data(row: Row[Any]) -> dict[str, Any]:
    return {
        "number": row.number,
        "wave": row.wave,
        "order": row.order,
        "sequence": row.sequence,
        "product": row.product,
        "lp": row.lp,
        "location": row.location,
        "to_location": row.to_location,
        "qty": _qty(row.qty),
        "qty_picked": _qty(row.qty_picked),
        "status": row.status,
        "assignee": row.assignee,
    }


# -- quality hold ------------------------------------------------------------------------

_hold_lp = license_plates.alias("hold_lp")


def _hold_query(site: str) -> Select[Any]:
    return (
        select(
            quality_holds.c.id,
            quality_holds.c.lot,
            quality_holds.c.reason,
            quality_holds.c.status,
            _hold_lp.c.number.label("lp"),
            products.c.code.label("product"),
        )
        .outerjoin(_hold_lp, _hold_lp.c.id == quality_holds.c.lp_id)
        .outerjoin(products, products.c.id == quality_holds.c.product_id)
        .where(quality_holds.c.site == site)
    )


def _hold_data(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "lp": row.lp,
        "product": row.product,
        "lot": row.lot,
        "reason": row.reason,
        "status": row.status,
    }


# -- license plate -----------------------------------------------------------------------

_parent = license_plates.alias("parent_lp")


def _lp_query(site: str) -> Select[Any]:
    return (
        select(
            license_plates.c.number,
            license_plates.c.lot,
            license_plates.c.expiry,
            license_plates.c.qty,
            license_plates.c.uom,
            license_plates.c.status,
            products.c.code.label("product"),
            locations.c.code.label("location"),
            _parent.c.number.label("parent"),
        )
        .join(products, products.c.id == license_plates.c.product_id)
        .join(locations, locations.c.id == license_plates.c.location_id)
        .outerjoin(_parent, _parent.c.id == license_plates.c.parent_lp_id)
        .where(license_plates.c.site == site)
    )


def _lp_live(cutoff: datetime) -> ColumnElement[bool]:
    moved_lately = exists().where(
        and_(stock_moves.c.lp_id == license_plates.c.id, stock_moves.c.recorded_at >= cutoff)
    )
    return or_(
        license_plates.c.status.not_in(LP_GONE),
        license_plates.c.created_at >= cutoff,
        moved_lately,
    )


def _lp_data(row: Row[Any]) -> dict[str, Any]:
    return {
        "number": row.number,
        "product": row.product,
        "lot": row.lot,
        "expiry": _day(row.expiry),
        "qty": _qty(row.qty),
        "uom": row.uom,
        "location": row.location,
        "status": row.status,
        "parent": row.parent,
    }


# -- shipment (orders and LPs added by details.shipment_parts) ---------------------------


def _shipment_query(site: str) -> Select[Any]:
    return select(
        shipments.c.id,
        shipments.c.number,
        shipments.c.status,
        shipments.c.carrier,
        shipments.c.planned_date,
        shipments.c.dispatched_at,
    ).where(shipments.c.site == site)


def _shipment_live(cutoff: datetime) -> ColumnElement[bool]:
    return or_(shipments.c.status.in_(SHIPMENT_NOT_LEFT), shipments.c.dispatched_at >= cutoff)


def _shipment_data(row: Row[Any]) -> dict[str, Any]:
    return {
        "number": row.number,
        "status": row.status,
        "carrier": row.carrier,
        "planned_date": _day(row.planned_date),
        "dispatched_at": None if row.dispatched_at is None else format_ts(row.dispatched_at),
    }


def _everything(cutoff: datetime) -> ColumnElement[bool]:
    return true()


KINDS: dict[str, Kind] = {
    "product": Kind(
        "product",
        _product_query,
        products.c.code,
        _everything,
        _product_data,
        lambda row: str(row.code),
    ),
    "location": Kind(
        "location",
        _location_query,
        locations.c.code,
        _everything,
        _location_data,
        lambda row: str(row.code),
    ),
    "work_order": Kind(
        "work_order",
        _wo_query,
        work_orders.c.number,
        _wo_live,
        _wo_data,
        lambda r: str(r.number),
        _wo_parts,
    ),
    "task": Kind(
        "task",
        _task_query,
        pick_tasks.c.number,
        lambda cutoff: pick_tasks.c.status == "open",
        _task_data,
        lambda row: str(row.number),
    ),
    "hold": Kind(
        "hold",
        _hold_query,
        quality_holds.c.id,
        lambda cutoff: quality_holds.c.status == "active",
        _hold_data,
        lambda row: str(row.id),
    ),
    "lp": Kind(
        "lp", _lp_query, license_plates.c.number, _lp_live, _lp_data, lambda r: str(r.number)
    ),
    "shipment": Kind(
        "shipment",
        _shipment_query,
        shipments.c.number,
        _shipment_live,
        _shipment_data,
        lambda r: str(r.number),
        shipment_parts,
    ),
}


async def _items(conn: AsyncConnection, kind: Kind, query: Select[Any]) -> dict[str, RefItem]:
    rows = list(await conn.execute(query))
    datas = [kind.data(row) for row in rows]
    if kind.parts is not None and rows:
        parts = await kind.parts(conn, [row.id for row in rows])
        for row, data in zip(rows, datas, strict=True):
            data.update(parts[row.id])
    return {
        kind.key_of(row): RefItem(op="upsert", key=kind.key_of(row), data=data)
        for row, data in zip(rows, datas, strict=True)
    }


def _typed_keys(kind: Kind, keys: Collection[str]) -> list[Any]:
    """Keys as their column stores them (hold ids are integers; others text)."""
    if kind.name != "hold":
        return list(keys)
    return [int(key) for key in keys if key.isdigit()]


async def read_items(
    conn: AsyncConnection, site: str, kind_name: str, keys: Collection[str]
) -> list[RefItem]:
    """The current state of ``keys`` of one kind at ``site``, in key order: an upsert per
    record found, a delete per key not found."""
    kind = KINDS[kind_name]
    found: dict[str, RefItem] = {}
    for chunk in chunks(_typed_keys(kind, keys)):
        found.update(await _items(conn, kind, kind.query(site).where(kind.key.in_(chunk))))
    return [found.get(key) or RefItem(op="delete", key=key) for key in sorted(keys)]


async def live_items(
    conn: AsyncConnection, site: str, kind_name: str, *, keep_hours: float
) -> list[RefItem]:
    """Every record of one kind an edge starting empty needs (a snapshot), in key order."""
    kind = KINDS[kind_name]
    cutoff = now() - timedelta(hours=keep_hours)
    items = await _items(conn, kind, kind.query(site).where(kind.live(cutoff)))
    return [items[key] for key in sorted(items)]

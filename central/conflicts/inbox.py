"""Read side of inventory: license plates, the stock-move ledger, the conflict inbox.

``sites`` is the caller's site filter (None: every site); a record of another site reads as
missing, so a token of one plant learns nothing of another's LPs.
"""

import json
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.rows import as_dict, page
from central.db.tables import (
    conflicts,
    license_plates,
    locations,
    products,
    stock_moves,
    work_orders,
)
from central.errors import NotFound

_parent = license_plates.alias("parent")


async def get_license_plate(
    conn: AsyncConnection, *, number: str, sites: list[str] | None = None
) -> dict[str, Any]:
    """One LP by number with its product and location codes and its parent LP, or NotFound."""
    query = (
        select(
            license_plates.c.number,
            products.c.code.label("product"),
            license_plates.c.qty,
            license_plates.c.uom,
            license_plates.c.lot,
            license_plates.c.expiry,
            license_plates.c.site,
            locations.c.code.label("location"),
            license_plates.c.status,
            _parent.c.number.label("parent"),
            license_plates.c.last_move_at,
            license_plates.c.created_at,
            license_plates.c.created_by_action,
        )
        .join(products, products.c.id == license_plates.c.product_id)
        .join(locations, locations.c.id == license_plates.c.location_id)
        .outerjoin(_parent, _parent.c.id == license_plates.c.parent_lp_id)
        .where(license_plates.c.number == number)
    )
    if sites is not None:
        query = query.where(license_plates.c.site.in_(sites))
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"LP {number} does not exist", details={"number": number})
    return as_dict(row)


async def list_stock_moves(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    lp: str | None = None,
    work_order: str | None = None,
    kind: str | None = None,
    action_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Ledger rows in the order central recorded them, optionally filtered."""
    limit, offset = page(limit, offset)
    query = (
        select(
            stock_moves.c.id,
            stock_moves.c.site,
            license_plates.c.number.label("lp"),
            products.c.code.label("product"),
            locations.c.code.label("location"),
            stock_moves.c.kind,
            stock_moves.c.qty,
            license_plates.c.uom,
            stock_moves.c.occurred_at,
            stock_moves.c.recorded_at,
            stock_moves.c.cause,
            stock_moves.c.action_id,
            work_orders.c.number.label("work_order"),
            stock_moves.c.reference,
        )
        .join(license_plates, license_plates.c.id == stock_moves.c.lp_id)
        .join(products, products.c.id == stock_moves.c.product_id)
        .join(locations, locations.c.id == stock_moves.c.location_id)
        .outerjoin(work_orders, work_orders.c.id == stock_moves.c.work_order_id)
        .order_by(stock_moves.c.id)
    )
    if sites is not None:
        query = query.where(stock_moves.c.site.in_(sites))
    for column, value in (
        (license_plates.c.number, lp),
        (work_orders.c.number, work_order),
        (stock_moves.c.kind, kind),
        (stock_moves.c.action_id, action_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return [as_dict(row) for row in await conn.execute(query.limit(limit).offset(offset))]


def _conflict_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored JSON text (the envelope, a changed body) as objects."""
    for row in rows:
        row["envelope"] = json.loads(row["envelope"])
        body = row.get("resolution_body")
        row["resolution_body"] = json.loads(body) if body else None
    return rows


async def list_conflicts(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    status: str | None = None,
    edge: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The conflict inbox, oldest first, each with the full envelope as received."""
    limit, offset = page(limit, offset)
    query: Select[Any] = select(conflicts).order_by(conflicts.c.id)
    if sites is not None:
        query = query.where(conflicts.c.site.in_(sites))
    for column, value in ((conflicts.c.status, status), (conflicts.c.edge, edge)):
        if value is not None:
            query = query.where(column == value)
    return _conflict_rows(
        [as_dict(row) for row in await conn.execute(query.limit(limit).offset(offset))]
    )


async def get_conflict(
    conn: AsyncConnection, *, conflict_id: int, sites: list[str] | None = None
) -> dict[str, Any]:
    """One conflict with its envelope and resolution, or NotFound."""
    query = select(conflicts).where(conflicts.c.id == conflict_id)
    if sites is not None:
        query = query.where(conflicts.c.site.in_(sites))
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(
            f"conflict {conflict_id} does not exist", details={"conflict_id": conflict_id}
        )
    return _conflict_rows([as_dict(row)])[0]

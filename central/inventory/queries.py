"""LP lists: license plates by product, location, lot, status or parent, and what an LP holds."""

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.rows import as_dict, page
from central.db.tables import license_plates, locations, products
from central.errors import NotFound
from central.inventory import nesting


def _listed() -> tuple[Select[Any], Any]:
    """LP columns with product, location and parent (packed-in) numbers."""
    packed_in = license_plates.alias("packed_in")
    lp = license_plates
    query = (
        select(
            lp.c.id,
            lp.c.number,
            lp.c.site,
            products.c.code.label("product"),
            lp.c.qty,
            lp.c.uom,
            lp.c.lot,
            lp.c.expiry,
            locations.c.code.label("location"),
            lp.c.status,
            packed_in.c.number.label("parent"),
            lp.c.last_move_at,
            lp.c.created_at,
        )
        .join(products, products.c.id == lp.c.product_id)
        .join(locations, locations.c.id == lp.c.location_id)
        .outerjoin(packed_in, packed_in.c.id == lp.c.parent_lp_id)
    )
    return query, packed_in


async def list_license_plates(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    product: str | None = None,
    location: str | None = None,
    lot: str | None = None,
    status: str | None = None,
    parent: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """LPs in number order, filtered by product code, location code, lot, status, parent."""
    limit, offset = page(limit, offset)
    query, packed_in = _listed()
    for column, value in (
        (products.c.code, product),
        (locations.c.code, location),
        (license_plates.c.lot, lot),
        (license_plates.c.status, status),
        (packed_in.c.number, parent),
    ):
        if value is not None:
            query = query.where(column == value)
    if sites is not None:
        query = query.where(license_plates.c.site.in_(sites))
    query = query.order_by(license_plates.c.number).limit(limit).offset(offset)
    return [_public(row) for row in await conn.execute(query)]


async def contents(
    conn: AsyncConnection, *, number: str, sites: list[str] | None
) -> dict[str, Any]:
    """An LP with every LP nested in it (any depth), each naming the LP it is packed in."""
    query, _ = _listed()
    query = query.where(license_plates.c.number == number)
    if sites is not None:
        query = query.where(license_plates.c.site.in_(sites))
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"LP {number} does not exist", details={"number": number})
    ids = await nesting.contents(conn, lp_id=row.id)
    inside: list[dict[str, Any]] = []
    if ids:
        query, _ = _listed()
        found = {
            r.id: _public(r) for r in await conn.execute(query.where(license_plates.c.id.in_(ids)))
        }
        inside = [found[i] for i in ids if i in found]  # shallowest first
    return {**_public(row), "contents": inside}


def _public(row: Any) -> dict[str, Any]:
    """A listed row without its internal id."""
    out = as_dict(row)
    out.pop("id")
    return out

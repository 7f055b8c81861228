"""Products and locations: the reference data actions name by code."""

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import locations, products
from central.errors import AlreadyExists, NotFound
from central.services.common import as_dict, now, page


async def create_product(conn: AsyncConnection, *, site: str, code: str, name: str, uom: str,
                         gtin: str | None = None, type: str = "raw",
                         shelf_life_days: int | None = None,
                         allergens: list[str] | None = None,
                         allow_merge: bool = False) -> dict[str, Any]:
    """Add a product to a site; its code must be new there."""
    details = {"site": site, "code": code}
    exists = select(products.c.id).where(products.c.site == site, products.c.code == code)
    if (await conn.execute(exists)).first() is not None:
        raise AlreadyExists(f"product {code} already exists at {site}", details=details)
    try:
        row = (await conn.execute(insert(products).values(
            site=site, code=code, name=name, uom=uom, gtin=gtin, type=type,
            shelf_life_days=shelf_life_days, allergens=sorted(set(allergens or [])),
            allow_merge=allow_merge, created_at=now()).returning(*products.c))).one()
    except IntegrityError as err:
        raise AlreadyExists(f"product {code} already exists at {site}", details=details) from err
    return as_dict(row)


async def list_products(conn: AsyncConnection, *, sites: list[str] | None = None,
                        limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Products of ``sites`` (None: all) ordered by site and code."""
    limit, offset = page(limit, offset)
    query = select(products).order_by(products.c.site, products.c.code)
    if sites is not None:
        query = query.where(products.c.site.in_(sites))
    return [as_dict(row) for row in await conn.execute(query.limit(limit).offset(offset))]


async def get_product(conn: AsyncConnection, *, product_id: int) -> dict[str, Any]:
    """One product by id, or NotFound."""
    row = (await conn.execute(select(products).where(products.c.id == product_id))).first()
    if row is None:
        raise NotFound(f"product {product_id} does not exist", details={"id": product_id})
    return as_dict(row)


async def create_location(conn: AsyncConnection, *, site: str, code: str, name: str,
                          kind: str = "storage") -> dict[str, Any]:
    """Add a location to a site; (site, code) must be new."""
    exists = select(locations.c.id).where(locations.c.site == site, locations.c.code == code)
    details = {"site": site, "code": code}
    if (await conn.execute(exists)).first() is not None:
        raise AlreadyExists(f"location {code} already exists at {site}", details=details)
    try:
        row = (await conn.execute(insert(locations).values(
            site=site, code=code, name=name, kind=kind, created_at=now())
            .returning(*locations.c))).one()
    except IntegrityError as err:
        raise AlreadyExists(f"location {code} already exists at {site}", details=details) from err
    return as_dict(row)


async def list_locations(conn: AsyncConnection, *, sites: list[str] | None = None,
                         limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Locations of ``sites`` (None: all) ordered by site and code."""
    limit, offset = page(limit, offset)
    query = select(locations).order_by(locations.c.site, locations.c.code)
    if sites is not None:
        query = query.where(locations.c.site.in_(sites))
    return [as_dict(row) for row in await conn.execute(query.limit(limit).offset(offset))]

"""Products and locations: the reference data actions name by code."""

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import locations, products
from central.errors import AlreadyExists, NotFound
from central.services.common import as_dict, now, page


async def create_product(conn: AsyncConnection, *, code: str, name: str,
                         uom: str) -> dict[str, Any]:
    """Add a product; its code must be new."""
    exists = select(products.c.id).where(products.c.code == code)
    if (await conn.execute(exists)).first() is not None:
        raise AlreadyExists(f"product {code} already exists", details={"code": code})
    try:
        row = (await conn.execute(insert(products).values(
            code=code, name=name, uom=uom, created_at=now()).returning(*products.c))).one()
    except IntegrityError as err:
        raise AlreadyExists(f"product {code} already exists", details={"code": code}) from err
    return as_dict(row)


async def list_products(conn: AsyncConnection, *, limit: int = 100,
                        offset: int = 0) -> list[dict[str, Any]]:
    """Products ordered by code."""
    limit, offset = page(limit, offset)
    query = select(products).order_by(products.c.code).limit(limit).offset(offset)
    return [as_dict(row) for row in await conn.execute(query)]


async def get_product(conn: AsyncConnection, *, product_id: int) -> dict[str, Any]:
    """One product by id, or NotFound."""
    row = (await conn.execute(select(products).where(products.c.id == product_id))).first()
    if row is None:
        raise NotFound(f"product {product_id} does not exist", details={"id": product_id})
    return as_dict(row)


async def create_location(conn: AsyncConnection, *, site: str, code: str,
                          name: str) -> dict[str, Any]:
    """Add a location to a site; (site, code) must be new."""
    exists = select(locations.c.id).where(locations.c.site == site, locations.c.code == code)
    details = {"site": site, "code": code}
    if (await conn.execute(exists)).first() is not None:
        raise AlreadyExists(f"location {code} already exists at {site}", details=details)
    try:
        row = (await conn.execute(insert(locations).values(
            site=site, code=code, name=name, created_at=now()).returning(*locations.c))).one()
    except IntegrityError as err:
        raise AlreadyExists(f"location {code} already exists at {site}", details=details) from err
    return as_dict(row)


async def list_locations(conn: AsyncConnection, *, site: str | None = None, limit: int = 100,
                         offset: int = 0) -> list[dict[str, Any]]:
    """Locations ordered by site and code, optionally of one site."""
    limit, offset = page(limit, offset)
    query = select(locations).order_by(locations.c.site, locations.c.code)
    if site is not None:
        query = query.where(locations.c.site == site)
    return [as_dict(row) for row in await conn.execute(query.limit(limit).offset(offset))]

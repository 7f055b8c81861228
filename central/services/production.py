"""Work orders: created here, then fed by lp.consume and wo.output actions."""

from decimal import Decimal
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import WO_STATUSES, products, work_orders
from central.errors import AlreadyExists, CentralError, InvalidReference, NotFound
from central.services.common import as_dict, now, page

_COLUMNS = (*work_orders.c, products.c.code.label("product"), products.c.uom)


def _query() -> Select[Any]:
    """Work orders joined with their product's code and unit."""
    return select(*_COLUMNS).join(products, products.c.id == work_orders.c.product_id)


async def create_work_order(conn: AsyncConnection, *, site: str, number: str, product: str,
                            qty_planned: Decimal, status: str = "released") -> dict[str, Any]:
    """Add a work order for a product (by code); released unless another status is given."""
    if status not in WO_STATUSES:
        raise CentralError(f"status must be one of {', '.join(WO_STATUSES)}",
                           code="INVALID_STATUS", details={"status": status})
    product_id = (await conn.execute(select(products.c.id).where(
        products.c.site == site, products.c.code == product))).scalar_one_or_none()
    if product_id is None:
        raise InvalidReference(f"product {product} does not exist at {site}",
                               details={"product": product, "site": site})
    if (await conn.execute(select(work_orders.c.id).where(
            work_orders.c.site == site, work_orders.c.number == number))).first() is not None:
        raise AlreadyExists(f"work order {number} already exists", details={"number": number})
    try:
        wo_id = (await conn.execute(insert(work_orders).values(
            site=site, number=number, product_id=product_id, qty_planned=qty_planned,
            qty_produced=Decimal(0), status=status, created_at=now())
            .returning(work_orders.c.id))).scalar_one()
    except IntegrityError as err:
        raise AlreadyExists(f"work order {number} already exists",
                            details={"number": number}) from err
    return await get_work_order(conn, work_order_id=wo_id)


async def get_work_order(conn: AsyncConnection, *, work_order_id: int) -> dict[str, Any]:
    """One work order by id, or NotFound."""
    row = (await conn.execute(_query().where(work_orders.c.id == work_order_id))).first()
    if row is None:
        raise NotFound(f"work order {work_order_id} does not exist",
                       details={"id": work_order_id})
    return as_dict(row)


async def list_work_orders(conn: AsyncConnection, *, site: str | None = None,
                           status: str | None = None, limit: int = 100,
                           offset: int = 0) -> list[dict[str, Any]]:
    """Work orders, newest first, optionally of one site or status."""
    limit, offset = page(limit, offset)
    query = _query().order_by(work_orders.c.id.desc())
    if site is not None:
        query = query.where(work_orders.c.site == site)
    if status is not None:
        query = query.where(work_orders.c.status == status)
    return [as_dict(row) for row in await conn.execute(query.limit(limit).offset(offset))]

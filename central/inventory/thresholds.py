"""Low-stock thresholds: set per product (so per site: a product belongs to one), listed with
the product's available stock now, removed.

Setting or removing one is audited and moves the reference counter, so the apply path of every
replica learns which products have one (central/apply/refs.py). A threshold set above the
stock there is now is a crossing like any other: ``inventory.low_stock`` is written at once,
caused by the call's audit entry (central/inventory/low_stock.py).
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.apply.refs import references_changed
from central.catalog.products import get_product
from central.clock import now
from central.db.rows import as_dict, page
from central.db.tables import license_plates, low_stock_thresholds, products
from central.errors import InvalidInput, NotFound
from central.inventory.availability import ON_HAND, parts
from central.inventory.low_stock import StockChange, Touched, check_crossings, reserved_of_lp
from protocol.types import format_qty

lp = license_plates
thresholds = low_stock_thresholds


@dataclass(frozen=True, slots=True)
class Threshold:
    """A product's threshold with its available stock now: ``below`` when the stock is under
    it; ``alerted`` when the last crossing down was told and stock has not come back since."""

    product_id: int
    site: str
    product: str
    uom: str
    min_qty: Decimal
    qty: Decimal
    below: bool
    alerted: bool
    crossed_at: datetime | None
    updated_at: datetime


def _stock(today: date) -> Any:
    """The threshold's product's available stock at its site (a correlated subquery)."""
    free = parts(today, reserved_of_lp())["available"]
    return (
        select(func.coalesce(func.sum(free), 0))
        .where(
            lp.c.product_id == thresholds.c.product_id,
            lp.c.site == thresholds.c.site,
            lp.c.status.in_(ON_HAND),
        )
        .scalar_subquery()
    )


def _listed(today: date) -> tuple[Select[Any], Any]:
    """Thresholds with their product and stock, ordered by site and product code; and the
    stock expression, to filter on."""
    stock = _stock(today)
    query = (
        select(
            thresholds.c.product_id,
            thresholds.c.site,
            products.c.code.label("product"),
            products.c.uom,
            thresholds.c.min_qty,
            stock.label("qty"),
            thresholds.c.below.label("alerted"),
            thresholds.c.crossed_at,
            thresholds.c.updated_at,
        )
        .join(products, products.c.id == thresholds.c.product_id)
        .order_by(thresholds.c.site, products.c.code)
    )
    return query, stock


def _threshold(row: Any) -> Threshold:
    """A Threshold from a listed row."""
    values = as_dict(row)
    qty = Decimal(values.pop("qty"))
    return Threshold(**values, qty=qty, below=qty < row.min_qty)


async def list_thresholds(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    below: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Threshold]:
    """Thresholds of ``sites`` (None: all) with stock now; ``below`` keeps those under (or,
    False, at or above) their threshold."""
    limit, offset = page(limit, offset)
    query, stock = _listed(now().date())
    if sites is not None:
        query = query.where(thresholds.c.site.in_(sites))
    if below is not None:
        under = stock < thresholds.c.min_qty
        query = query.where(under if below else ~under)
    return [_threshold(row) for row in await conn.execute(query.limit(limit).offset(offset))]


async def _read(conn: AsyncConnection, product_id: int) -> Threshold | None:
    """The product's threshold with stock now, or None."""
    query, _ = _listed(now().date())
    row = (await conn.execute(query.where(thresholds.c.product_id == product_id))).first()
    return None if row is None else _threshold(row)


def _none_set(code: str, product_id: int) -> NotFound:
    """The product has no threshold."""
    return NotFound(
        f"product {code} has no low-stock threshold",
        code="NO_THRESHOLD",
        details={"id": product_id, "product": code},
    )


async def get_threshold(conn: AsyncConnection, *, caller: Caller, product_id: int) -> Threshold:
    """The product's threshold, or NotFound (of the product, when the caller may not see it)."""
    product = await get_product(conn, product_id=product_id)
    caller.require_visible(product.site, what="product", key=product_id)
    found = await _read(conn, product_id)
    if found is None:
        raise _none_set(product.code, product_id)
    return found


async def set_threshold(
    conn: AsyncConnection,
    *,
    caller: Caller,
    product_id: int,
    min_qty: Decimal,
    site: str | None = None,
) -> Threshold:
    """Set the product's threshold (``site``, when given, must be the product's own); audited
    with what it was before. Stock already under it is told at once (one event), as is stock
    under a threshold raised past it; stock at or above re-arms it."""
    product = await get_product(conn, product_id=product_id, for_update=True)
    caller.require_visible(product.site, what="product", key=product_id)
    caller.require_site(product.site)
    if site is not None and site != product.site:
        raise InvalidInput(
            f"product {product.code} is of site {product.site}, not {site}: its threshold "
            "is for its own site",
            code="SITE_MISMATCH",
            details={"id": product_id, "site": product.site, "given": site},
        )
    if min_qty <= 0:
        raise InvalidInput(
            f"min_qty must be above 0, not {format_qty(min_qty)}",
            code="INVALID_MIN_QTY",
            details={"min_qty": format_qty(min_qty)},
        )
    before = await _read(conn, product_id)
    at = now()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(thresholds).values(
        product_id=product_id, site=product.site, min_qty=min_qty, below=False, updated_at=at
    )
    # The state (below or not) of a threshold that exists is kept: the check below turns it.
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[thresholds.c.product_id],
            set_={"min_qty": stmt.excluded.min_qty, "updated_at": stmt.excluded.updated_at},
        )
    )
    if before is None:
        await references_changed(conn)  # every replica's apply path checks it from now on
    entry = await audit.record(
        conn,
        caller=caller,
        action="product.low_stock",
        target=product.code,
        site=product.site,
        details={
            "id": product_id,
            "min_qty": format_qty(min_qty),
            "before": None if before is None else format_qty(before.min_qty),
        },
    )
    # A new level is a change both ways: checked against the stock there is.
    change = Touched(StockChange(action_id=entry, cause="api", occurred_at=at), True, True)
    await check_crossings(conn, {(product.site, product_id): change}, at=at)
    found = await _read(conn, product_id)
    assert found is not None
    return found


async def delete_threshold(conn: AsyncConnection, *, caller: Caller, product_id: int) -> Threshold:
    """Remove the product's threshold (audited); answers it as it was."""
    product = await get_product(conn, product_id=product_id, for_update=True)
    caller.require_visible(product.site, what="product", key=product_id)
    caller.require_site(product.site)
    found = await _read(conn, product_id)
    if found is None:
        raise _none_set(product.code, product_id)
    await conn.execute(delete(thresholds).where(thresholds.c.product_id == product_id))
    await references_changed(conn)
    await audit.record(
        conn,
        caller=caller,
        action="product.low_stock.delete",
        target=product.code,
        site=product.site,
        details={"id": product_id, "min_qty": format_qty(found.min_qty)},
    )
    return found

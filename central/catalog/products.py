"""Products: the items actions receive, consume and produce, named by code.

A product's code and site never change (actions and LPs name it by them); its unit of measure
is frozen once stock of it exists, because every LP and ledger row counts in that unit.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Text, cast, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.apply.refs import references_changed
from central.clock import now
from central.db.enums import PRODUCT_TYPES
from central.db.rows import as_dict, page
from central.db.tables import (
    bom_item_alternatives,
    bom_items,
    boms,
    license_plates,
    material_alternatives,
    products,
    quality_holds,
    stock_moves,
    work_order_materials,
    work_orders,
)
from central.errors import AlreadyExists, CentralError, InUse, NotFound
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType
from protocol.types import format_qty


@dataclass(frozen=True, slots=True)
class Product:
    """A product of a site, as stored."""

    id: int
    site: str
    code: str
    name: str
    uom: str
    gtin: str | None
    type: str
    shelf_life_days: int | None
    allergens: list[str]
    allow_merge: bool
    over_consumption_tolerance: Decimal | None
    over_production_tolerance: Decimal | None
    over_receipt_tolerance: Decimal | None
    created_at: datetime
    updated_at: datetime | None


# What may point at a product; any of these makes it undeletable.
_USES = (
    ("license_plates", license_plates.c.product_id),
    ("stock_moves", stock_moves.c.product_id),
    ("boms", boms.c.product_id),
    ("bom_items", bom_items.c.component_id),
    ("bom_item_alternatives", bom_item_alternatives.c.product_id),
    ("work_orders", work_orders.c.product_id),
    ("work_order_materials", work_order_materials.c.component_id),
    ("material_alternatives", material_alternatives.c.product_id),
    ("quality_holds", quality_holds.c.product_id),
)


_TOLERANCES = ("over_consumption_tolerance", "over_production_tolerance", "over_receipt_tolerance")
_EDITABLE = (
    "name",
    "uom",
    "gtin",
    "type",
    "shelf_life_days",
    "allergens",
    "allow_merge",
    *_TOLERANCES,
)


def _check_type(type: str) -> None:
    """Refuse a product type the schema does not know."""
    if type not in PRODUCT_TYPES:
        raise CentralError(
            f"product type must be one of {', '.join(PRODUCT_TYPES)}",
            code="INVALID_PRODUCT_TYPE",
            details={"type": type},
        )


async def create_product(
    conn: AsyncConnection,
    *,
    site: str,
    code: str,
    name: str,
    uom: str,
    gtin: str | None = None,
    type: str = "raw",
    shelf_life_days: int | None = None,
    allergens: list[str] | None = None,
    allow_merge: bool = False,
    over_consumption_tolerance: Decimal | None = None,
    over_production_tolerance: Decimal | None = None,
    over_receipt_tolerance: Decimal | None = None,
    caller: Caller | None = None,
) -> Product:
    """Add a product to a site; its code must be new there. Audited when ``caller`` is given."""
    _check_type(type)
    details = {"site": site, "code": code}
    exists_ = select(products.c.id).where(products.c.site == site, products.c.code == code)
    if (await conn.execute(exists_)).first() is not None:
        raise AlreadyExists(f"product {code} already exists at {site}", details=details)
    try:
        row = (
            await conn.execute(
                insert(products)
                .values(
                    site=site,
                    code=code,
                    name=name,
                    uom=uom,
                    gtin=gtin,
                    type=type,
                    shelf_life_days=shelf_life_days,
                    allergens=sorted(set(allergens or [])),
                    allow_merge=allow_merge,
                    over_consumption_tolerance=over_consumption_tolerance,
                    over_production_tolerance=over_production_tolerance,
                    over_receipt_tolerance=over_receipt_tolerance,
                    created_at=now(),
                )
                .returning(*products.c)
            )
        ).one()
    except IntegrityError as err:
        raise AlreadyExists(f"product {code} already exists at {site}", details=details) from err
    if gtin is not None:  # a GTIN another product carries is ambiguous from now on
        await references_changed(conn)
    entry = None
    if caller is not None:
        entry = await audit.record(
            conn,
            caller=caller,
            action="product.create",
            target=code,
            site=site,
            details={"id": row.id},
        )
    product = Product(**as_dict(row))
    await _changed(conn, product, "created", cause=entry)
    return product


def _filters(
    *,
    sites: list[str] | None,
    type: str | None,
    allergen: str | None,
    gtin: str | None,
    q: str | None,
) -> list[ColumnElement[bool]]:
    """WHERE clauses of a product list."""
    where: list[ColumnElement[bool]] = []
    if sites is not None:
        where.append(products.c.site.in_(sites))
    if type is not None:
        where.append(products.c.type == type)
    if gtin is not None:
        where.append(products.c.gtin == gtin)
    if allergen is not None:
        # Portable JSON-list membership: tags are [a-z0-9_-] (nothing JSON escapes) and each
        # element is stored quoted, so '"milk"' matches the whole tag only, on both backends.
        where.append(
            cast(products.c.allergens, Text).contains(f'"{allergen.lower()}"', autoescape=True)
        )
    if q:
        where.append(
            or_(
                products.c.code.icontains(q, autoescape=True),
                products.c.name.icontains(q, autoescape=True),
            )
        )
    return where


async def list_products(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    type: str | None = None,
    allergen: str | None = None,
    gtin: str | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Product]:
    """Products of ``sites`` (None: all) ordered by site and code; ``q`` searches code and name
    (case-insensitive substring), ``allergen`` is one tag."""
    limit, offset = page(limit, offset)
    query = (
        select(products)
        .where(*_filters(sites=sites, type=type, allergen=allergen, gtin=gtin, q=q))
        .order_by(products.c.site, products.c.code)
    )
    return [
        Product(**as_dict(row)) for row in await conn.execute(query.limit(limit).offset(offset))
    ]


async def count_products(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    type: str | None = None,
    allergen: str | None = None,
    gtin: str | None = None,
    q: str | None = None,
) -> int:
    """How many products ``list_products`` would find with the same filters, all pages."""
    query = (
        select(func.count())
        .select_from(products)
        .where(*_filters(sites=sites, type=type, allergen=allergen, gtin=gtin, q=q))
    )
    return int((await conn.execute(query)).scalar_one())


async def get_product(
    conn: AsyncConnection, *, product_id: int, for_update: bool = False
) -> Product:
    """One product by id, or NotFound; ``for_update`` row-locks it (PostgreSQL)."""
    query = select(products).where(products.c.id == product_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"product {product_id} does not exist", details={"id": product_id})
    return Product(**as_dict(row))


async def _has_stock(conn: AsyncConnection, product_id: int) -> bool:
    """True once any LP or ledger row of the product exists."""
    query = select(
        or_(
            exists().where(license_plates.c.product_id == product_id),
            exists().where(stock_moves.c.product_id == product_id),
        )
    )
    return bool((await conn.execute(query)).scalar_one())


async def update_product(
    conn: AsyncConnection,
    *,
    product_id: int,
    name: str,
    uom: str,
    gtin: str | None = None,
    type: str = "raw",
    shelf_life_days: int | None = None,
    allergens: list[str] | None = None,
    allow_merge: bool = False,
    over_consumption_tolerance: Decimal | None = None,
    over_production_tolerance: Decimal | None = None,
    over_receipt_tolerance: Decimal | None = None,
    site: str | None = None,
    code: str | None = None,
    caller: Caller | None = None,
) -> Product:
    """Replace a product's editable fields. ``site`` and ``code``, when given, must be its own:
    they never change. The unit of measure is frozen once LPs or ledger rows of it exist."""
    _check_type(type)
    old = await get_product(conn, product_id=product_id, for_update=True)
    if caller is not None:
        caller.require_visible(old.site, what="product", key=product_id)
    for field, current, value in (("site", old.site, site), ("code", old.code, code)):
        if value is not None and value != current:
            raise CentralError(
                f"a product's {field} cannot change ({current} -> {value})",
                code="IMMUTABLE_FIELD",
                details={"field": field, "current": current, "given": value},
            )
    if uom != old.uom and await _has_stock(conn, product_id):
        raise InUse(
            f"product {old.code} has stock in {old.uom}: its unit of measure "
            f"cannot change to {uom}",
            code="UOM_IN_USE",
            details={"id": product_id, "uom": old.uom, "given": uom},
        )
    row = (
        await conn.execute(
            update(products)
            .where(products.c.id == product_id)
            .values(
                name=name,
                uom=uom,
                gtin=gtin,
                type=type,
                shelf_life_days=shelf_life_days,
                allergens=sorted(set(allergens or [])),
                allow_merge=allow_merge,
                over_consumption_tolerance=over_consumption_tolerance,
                over_production_tolerance=over_production_tolerance,
                over_receipt_tolerance=over_receipt_tolerance,
                updated_at=now(),
            )
            .returning(*products.c)
        )
    ).one()
    await references_changed(conn)  # every replica's apply path drops its cached copy
    entry = None
    if caller is not None:
        changed = {k: row._mapping[k] for k in _EDITABLE if row._mapping[k] != getattr(old, k)}
        for k in _TOLERANCES:  # JSON-safe in the audit entry
            if k in changed and changed[k] is not None:
                changed[k] = format_qty(changed[k])
        entry = await audit.record(
            conn,
            caller=caller,
            action="product.update",
            target=old.code,
            site=old.site,
            details={"id": product_id, "changed": changed},
        )
    product = Product(**as_dict(row))
    await _changed(conn, product, "updated", cause=entry)
    return product


async def product_uses(conn: AsyncConnection, *, product_id: int) -> list[str]:
    """The tables whose rows refer to the product (LPs, ledger, BOMs, work orders, holds)."""
    query = select(*(exists().where(column == product_id).label(name) for name, column in _USES))
    row = (await conn.execute(query)).one()
    return [name for name, _ in _USES if row._mapping[name]]


async def delete_product(
    conn: AsyncConnection, *, product_id: int, caller: Caller | None = None
) -> Product:
    """Delete a product nothing refers to; InUse (PRODUCT_IN_USE) names what still does."""
    old = await get_product(conn, product_id=product_id, for_update=True)
    if caller is not None:
        caller.require_visible(old.site, what="product", key=product_id)
    uses = await product_uses(conn, product_id=product_id)
    in_use = InUse(
        f"product {old.code} is still used by {', '.join(uses) or 'other records'}"
        " and cannot be deleted",
        code="PRODUCT_IN_USE",
        details={"id": product_id, "used_by": uses},
    )
    if uses:
        raise in_use
    try:
        await conn.execute(delete(products).where(products.c.id == product_id))
    except IntegrityError as err:  # a row referring to it was committed since the check
        raise in_use from err
    await references_changed(conn)
    entry = None
    if caller is not None:
        entry = await audit.record(
            conn,
            caller=caller,
            action="product.delete",
            target=old.code,
            site=old.site,
            details={"id": product_id},
        )
    await _changed(conn, old, "deleted", cause=entry)
    return old


async def _changed(
    conn: AsyncConnection, product: Product, change: str, *, cause: str | None
) -> None:
    """Write ``product.changed`` (created, updated or deleted) with what an edge keeps of it."""
    payload = {
        "change": change,
        "code": product.code,
        "name": product.name,
        "uom": product.uom,
        "type": product.type,
        "gtins": [product.gtin] if product.gtin else [],
        "shelf_life_days": product.shelf_life_days,
    }
    event = DomainEvent(EventType.PRODUCT_CHANGED, product.site, product.code, payload, cause=cause)
    await write_events(conn, [event])

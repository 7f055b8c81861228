"""Bills of materials, versioned per product.

A version that a work order was made from (whatever its status, closed ones too: their
history names it) is never edited in place: saving over it is refused unless the save asks
for a new version, and the old one stays as the work orders knew it. An unused current
version is replaced in place. Cycles (A needs B needs A) are checked through the current
version of every BOM at the product's site, alternatives included (a line's alternatives:
central/catalog/bom_alternatives.py).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.catalog.bom_alternatives import (
    BomAlternative,
    alternatives_of,
    check_alternatives,
    save_alternatives,
)
from central.catalog.products import Product, get_product
from central.clock import now
from central.db.rows import as_dict
from central.db.tables import bom_item_alternatives, bom_items, boms, products, work_orders
from central.errors import InUse, InvalidReference, NotFound

DONE_WO_STATUSES = ("completed", "closed")  # any other status is an open work order


@dataclass(frozen=True, slots=True)
class BomItem:
    """A component line of a BOM, with the component's code, name and unit, and the products
    it may use instead."""

    line: int
    component_id: int
    component: str
    name: str
    uom: str
    qty_per: Decimal
    scrap_factor: Decimal
    consume_whole_lp: bool
    alternatives: list[BomAlternative]


@dataclass(frozen=True, slots=True)
class Bom:
    """One version of a product's BOM with its items."""

    id: int
    site: str
    product_id: int
    product: str
    version: int
    note: str | None
    created_at: datetime
    created_by: str
    items: list[BomItem]


@dataclass(frozen=True, slots=True)
class SavedBom(Bom):
    """A BOM just saved, and whether saving it made a new version."""

    created_new_version: bool


@dataclass(frozen=True, slots=True)
class BomVersion:
    """A BOM version in a product's list: its size and the open work orders made from it."""

    id: int
    version: int
    note: str | None
    created_at: datetime
    created_by: str
    item_count: int
    open_work_orders: int
    current: bool


async def _product(
    conn: AsyncConnection, product_id: int, caller: Caller | None, *, for_update: bool = False
) -> Product:
    """The product, after checking the caller may see its site."""
    product = await get_product(conn, product_id=product_id, for_update=for_update)
    if caller is not None:
        caller.require_visible(product.site, what="product", key=product_id)
    return product


async def _components(conn: AsyncConnection, product: Product, codes: list[str]) -> dict[str, int]:
    """Component ids by code; refuse duplicates, the product itself and unknown codes."""
    dups = sorted(code for code, n in Counter(codes).items() if n > 1)
    if dups:
        raise InvalidReference(
            f"a component may appear once in a BOM: {', '.join(dups)}",
            code="BOM_DUPLICATE_COMPONENT",
            details={"components": dups},
        )
    if product.code in codes:
        raise InvalidReference(
            f"product {product.code} cannot be a component of itself",
            code="BOM_SELF_REFERENCE",
            details={"component": product.code},
        )
    rows = await conn.execute(
        select(products.c.code, products.c.id).where(
            products.c.site == product.site, products.c.code.in_(codes)
        )
    )
    found = {row.code: row.id for row in rows}
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidReference(
            f"no product {', '.join(missing)} at {product.site}",
            code="COMPONENT_NOT_FOUND",
            details={"components": missing, "site": product.site},
        )
    return found


async def _cycle(conn: AsyncConnection, product_id: int, components: list[int]) -> list[int]:
    """The ids along a cycle the new items would close (product ... product), or []."""
    needed_by = dict.fromkeys(components, product_id)  # node -> the product that needs it
    frontier = set(components)
    while frontier:
        latest = (
            select(boms.c.product_id, func.max(boms.c.version).label("version"))
            .where(boms.c.product_id.in_(frontier))
            .group_by(boms.c.product_id)
            .subquery()
        )
        current = and_(boms.c.product_id == latest.c.product_id, boms.c.version == latest.c.version)
        rows = await conn.execute(
            union_all(
                select(boms.c.product_id, bom_items.c.component_id)
                .join(latest, current)
                .join(bom_items, bom_items.c.bom_id == boms.c.id),
                select(boms.c.product_id, bom_item_alternatives.c.product_id)
                .join(latest, current)
                .join(bom_items, bom_items.c.bom_id == boms.c.id)
                .join(bom_item_alternatives, bom_item_alternatives.c.bom_item_id == bom_items.c.id),
            )
        )
        frontier = set()
        for parent, component in rows:
            if component == product_id:
                path = [parent]
                while path[-1] != product_id:
                    path.append(needed_by[path[-1]])
                return [*reversed(path), product_id]
            if component not in needed_by:
                needed_by[component] = parent
                frontier.add(component)
    return []


async def _codes(conn: AsyncConnection, ids: list[int]) -> dict[int, str]:
    """Product codes by id."""
    rows = await conn.execute(
        select(products.c.id, products.c.code).where(products.c.id.in_(set(ids)))
    )
    return {row.id: row.code for row in rows}


async def save_bom(
    conn: AsyncConnection,
    *,
    product_id: int,
    items: list[dict[str, Any]],
    note: str | None = None,
    new_version: bool = False,
    caller: Caller,
) -> SavedBom:
    """Store a product's BOM: version 1, or the next version when ``new_version`` is asked,
    else the current version replaced in place, which BOM_VERSION_USED (409) refuses once a
    work order used it. Answers the BOM and ``created_new_version``. Items: component (code),
    qty_per, scrap_factor, consume_whole_lp, alternatives (codes)."""
    # The product's row lock serializes BOM saves of one product (version numbers).
    product = await _product(conn, product_id, caller, for_update=True)
    codes = [item["component"] for item in items]
    ids = await _components(conn, product, codes)
    alternative_ids = await check_alternatives(conn, product, items)
    cycle = await _cycle(conn, product_id, [*ids.values(), *alternative_ids.values()])
    if cycle:
        names = await _codes(conn, cycle)
        path = [names[i] for i in cycle]
        raise InvalidReference(
            f"this BOM would make a cycle: {' -> '.join(path)}",
            code="BOM_CYCLE",
            details={"path": path},
        )
    # Locking the current version waits for a work order being made from it (current_bom
    # takes a share lock), so the count below sees that work order once it is committed.
    current = (
        await conn.execute(
            select(boms.c.id, boms.c.version)
            .where(boms.c.product_id == product_id)
            .order_by(boms.c.version.desc())
            .limit(1)
            .with_for_update()
        )
    ).first()
    in_use = 0 if current is None else await _open_work_orders(conn, current.id)
    if current is not None and not new_version:
        await _refuse_used_version(conn, product, current.id, current.version)
    if current is None or new_version:
        version = 1 if current is None else current.version + 1
        bom_id = (
            await conn.execute(
                insert(boms)
                .values(
                    site=product.site,
                    product_id=product_id,
                    version=version,
                    note=note,
                    created_at=now(),
                    created_by=caller.name,
                )
                .returning(boms.c.id)
            )
        ).scalar_one()
    else:
        version, bom_id = current.version, current.id
        await conn.execute(update(boms).where(boms.c.id == bom_id).values(note=note))
        # The lines' alternatives go with them (ON DELETE CASCADE).
        await conn.execute(delete(bom_items).where(bom_items.c.bom_id == bom_id))
    await conn.execute(
        insert(bom_items),
        [
            {
                "bom_id": bom_id,
                "line": line,
                "component_id": ids[item["component"]],
                "qty_per": item["qty_per"],
                "scrap_factor": item.get("scrap_factor", Decimal(0)),
                "consume_whole_lp": item.get("consume_whole_lp", False),
            }
            for line, item in enumerate(items, start=1)
        ],
    )
    await save_alternatives(conn, bom_id, items, alternative_ids)
    created = current is None or new_version
    await audit.record(
        conn,
        caller=caller,
        action="bom.create" if created else "bom.replace",
        target=f"{product.code} v{version}",
        site=product.site,
        details={
            "product_id": product_id,
            "bom_id": bom_id,
            "version": version,
            "components": codes,
            "alternatives": {
                item["component"]: item["alternatives"]
                for item in items
                if item.get("alternatives")
            },
            "open_work_orders_on_previous": in_use,
        },
    )
    bom = await get_bom(conn, product_id=product_id, version=version)
    return SavedBom(
        id=bom.id,
        site=bom.site,
        product_id=bom.product_id,
        product=bom.product,
        version=bom.version,
        note=bom.note,
        created_at=bom.created_at,
        created_by=bom.created_by,
        items=bom.items,
        created_new_version=created,
    )


async def _refuse_used_version(
    conn: AsyncConnection, product: Product, bom_id: int, version: int
) -> None:
    """BOM_VERSION_USED (409) when any work order, of any status, was made from the version."""
    used = (
        (
            await conn.execute(
                select(work_orders.c.number)
                .where(work_orders.c.bom_id == bom_id)
                .order_by(work_orders.c.id)
            )
        )
        .scalars()
        .all()
    )
    if not used:
        return
    shown = ", ".join(used[:5]) + (f" and {len(used) - 5} more" if len(used) > 5 else "")
    raise InUse(
        f"version {version} of the BOM of {product.code} was used by work order(s) {shown}; "
        "a version a work order used is never edited in place: save the BOM as a new version "
        '(with "new_version": true)',
        code="BOM_VERSION_USED",
        details={
            "product_id": product.id,
            "version": version,
            "work_orders": list(used[:100]),
            "work_order_count": len(used),
            "next_version": version + 1,
        },
    )


async def _open_work_orders(conn: AsyncConnection, bom_id: int) -> int:
    """How many work orders not yet completed or closed were made from this BOM version."""
    return int(
        (
            await conn.execute(
                select(func.count())
                .select_from(work_orders)
                .where(
                    work_orders.c.bom_id == bom_id, work_orders.c.status.not_in(DONE_WO_STATUSES)
                )
            )
        ).scalar_one()
    )


async def get_bom(
    conn: AsyncConnection,
    *,
    product_id: int,
    version: int | None = None,
    caller: Caller | None = None,
) -> Bom:
    """A product's current BOM (or ``version``) with its items and their components."""
    product = await _product(conn, product_id, caller)
    query = select(boms).where(boms.c.product_id == product_id)
    if version is not None:
        query = query.where(boms.c.version == version)
    row = (await conn.execute(query.order_by(boms.c.version.desc()).limit(1))).first()
    if row is None:
        which = f"version {version} of its BOM" if version is not None else "BOM"
        raise NotFound(
            f"product {product.code} has no {which}",
            code="BOM_NOT_FOUND",
            details={"product_id": product_id, "version": version},
        )
    lines = await _lines(
        conn,
        select(
            bom_items.c.line,
            bom_items.c.component_id,
            products.c.code.label("component"),
            products.c.name,
            products.c.uom,
            bom_items.c.qty_per,
            bom_items.c.scrap_factor,
            bom_items.c.consume_whole_lp,
        )
        .join(products, products.c.id == bom_items.c.component_id)
        .where(bom_items.c.bom_id == row.id),
    )
    items = [BomItem(**fields, alternatives=others) for fields, others in lines]
    return Bom(**as_dict(row), product=product.code, items=items)


async def _lines(conn: AsyncConnection, query: Any) -> list[tuple[dict[str, Any], list[Any]]]:
    """The BOM lines ``query`` selects (in line order), each with its alternatives."""
    rows = (await conn.execute(query.add_columns(bom_items.c.id).order_by(bom_items.c.line))).all()
    alternatives = await alternatives_of(conn, (r.id for r in rows))
    found = []
    for row in rows:
        fields = as_dict(row)
        found.append((fields, alternatives.get(fields.pop("id"), [])))
    return found


async def list_versions(
    conn: AsyncConnection, *, product_id: int, caller: Caller | None = None
) -> list[BomVersion]:
    """Every BOM version of a product, oldest first, with its item count and open work orders."""
    await _product(conn, product_id, caller)
    item_count = (
        select(func.count())
        .select_from(bom_items)
        .where(bom_items.c.bom_id == boms.c.id)
        .scalar_subquery()
    )
    open_wos = (
        select(func.count())
        .select_from(work_orders)
        .where(work_orders.c.bom_id == boms.c.id, work_orders.c.status.not_in(DONE_WO_STATUSES))
        .scalar_subquery()
    )
    rows = (
        await conn.execute(
            select(
                boms.c.id,
                boms.c.version,
                boms.c.note,
                boms.c.created_at,
                boms.c.created_by,
                item_count.label("item_count"),
                open_wos.label("open_work_orders"),
            )
            .where(boms.c.product_id == product_id)
            .order_by(boms.c.version)
        )
    ).all()
    last = len(rows) - 1
    return [BomVersion(**as_dict(r), current=i == last) for i, r in enumerate(rows)]


async def current_bom(conn: AsyncConnection, *, product_id: int) -> dict[str, Any] | None:
    """The product's current BOM for making a work order: {"id", "version", "items": [
    {"component_id", "qty_per", "scrap_factor", "consume_whole_lp", "line", "alternatives"
    (product ids)}]}, or None.

    In a write transaction on PostgreSQL it share-locks that version, so a BOM saved at the
    same moment waits, sees the new work order, and is refused (BOM_VERSION_USED) instead of
    editing the version it copied.
    """
    row = (
        await conn.execute(
            select(boms.c.id, boms.c.version)
            .where(boms.c.product_id == product_id)
            .order_by(boms.c.version.desc())
            .limit(1)
            .with_for_update(read=True)
        )
    ).first()
    if row is None:
        return None
    lines = await _lines(
        conn,
        select(
            bom_items.c.component_id,
            bom_items.c.qty_per,
            bom_items.c.scrap_factor,
            bom_items.c.consume_whole_lp,
            bom_items.c.line,
        ).where(bom_items.c.bom_id == row.id),
    )
    items = [
        {**fields, "alternatives": [other.component_id for other in others]}
        for fields, others in lines
    ]
    return {"id": row.id, "version": row.version, "items": items}

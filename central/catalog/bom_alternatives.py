"""Alternatives of BOM lines: other products a line may be made with (flour of either supplier).

An alternative stands in for its line's component one for one: it is a product of the same
site, counted in the component's unit, never the BOM's own product, and a product appears at
most once in a BOM (as a component or as one line's alternative), so an LP's product names
one line at most. Work orders copy the alternatives with the rest of the snapshot.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.catalog.products import Product
from central.db.tables import bom_item_alternatives, bom_items, products
from central.errors import InvalidInput, InvalidReference


@dataclass(frozen=True, slots=True)
class BomAlternative:
    """A product a BOM line may use instead of its component, with its code, name and unit."""

    component_id: int
    component: str
    name: str
    uom: str


async def check_alternatives(
    conn: AsyncConnection, product: Product, items: list[dict[str, Any]]
) -> dict[str, int]:
    """Alternative ids by code, after refusing duplicates, the product itself, unknown codes
    and a unit other than the line's component's. ``items`` are the BOM's lines, their
    components already checked."""
    wanted = [code for item in items for code in item.get("alternatives") or ()]
    if not wanted:
        return {}
    seen = Counter([item["component"] for item in items] + wanted)
    dups = sorted({code for code in wanted if seen[code] > 1})
    if dups:
        raise InvalidReference(
            "a product may appear once in a BOM, as a component or as one line's "
            f"alternative: {', '.join(dups)}",
            code="BOM_DUPLICATE_ALTERNATIVE",
            details={"alternatives": dups},
        )
    if product.code in wanted:
        raise InvalidReference(
            f"product {product.code} cannot be an alternative in its own BOM",
            code="BOM_SELF_REFERENCE",
            details={"alternative": product.code},
        )
    components = [item["component"] for item in items]
    rows = await conn.execute(
        select(products.c.code, products.c.id, products.c.uom).where(
            products.c.site == product.site, products.c.code.in_(wanted + components)
        )
    )
    found = {row.code: row for row in rows}
    missing = [code for code in wanted if code not in found]
    if missing:
        raise InvalidReference(
            f"no product {', '.join(missing)} at {product.site} (named as an alternative)",
            code="ALTERNATIVE_NOT_FOUND",
            details={"alternatives": missing, "site": product.site},
        )
    mismatches = [
        {
            "line": line,
            "component": item["component"],
            "uom": found[item["component"]].uom,
            "alternative": code,
            "alternative_uom": found[code].uom,
        }
        for line, item in enumerate(items, start=1)
        for code in item.get("alternatives") or ()
        if found[code].uom != found[item["component"]].uom
    ]
    if mismatches:
        first = mismatches[0]
        raise InvalidInput(
            f"alternative {first['alternative']} is counted in {first['alternative_uom']}, "
            f"its component {first['component']} in {first['uom']}: an alternative must use "
            "its component's unit",
            code="BOM_ALTERNATIVE_UOM",
            details={"mismatches": mismatches},
        )
    return {code: found[code].id for code in wanted}


async def save_alternatives(
    conn: AsyncConnection, bom_id: int, items: list[dict[str, Any]], ids: dict[str, int]
) -> None:
    """Store the alternatives of a BOM version's lines (numbered from 1 in ``items`` order)."""
    if not ids:
        return
    lines = dict(
        (
            await conn.execute(
                select(bom_items.c.line, bom_items.c.id).where(bom_items.c.bom_id == bom_id)
            )
        ).all()
    )
    await conn.execute(
        insert(bom_item_alternatives),
        [
            {"bom_item_id": lines[line], "product_id": ids[code]}
            for line, item in enumerate(items, start=1)
            for code in item.get("alternatives") or ()
        ],
    )


async def alternatives_of(
    conn: AsyncConnection, item_ids: Iterable[int]
) -> dict[int, list[BomAlternative]]:
    """The alternatives of BOM lines by line id, in the order they were given."""
    rows = await conn.execute(
        select(
            bom_item_alternatives.c.bom_item_id,
            products.c.id.label("component_id"),
            products.c.code.label("component"),
            products.c.name,
            products.c.uom,
        )
        .join(products, products.c.id == bom_item_alternatives.c.product_id)
        .where(bom_item_alternatives.c.bom_item_id.in_(list(item_ids)))
        .order_by(bom_item_alternatives.c.id)
    )
    found: dict[int, list[BomAlternative]] = {}
    for row in rows:
        found.setdefault(row.bom_item_id, []).append(
            BomAlternative(row.component_id, row.component, row.name, row.uom)
        )
    return found

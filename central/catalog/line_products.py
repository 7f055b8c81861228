"""The products an order's lines name, checked once for every kind of order.

Sales and purchase orders both name their lines' products by code, in the product's own
unit; what a line may not do (name a product the site does not have, or another unit) is
the same rule for both, answered with the same codes.
"""

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import products
from central.errors import InvalidInput, InvalidReference


class NamesProduct(Protocol):
    """A line as a caller asks for it: a product code and, maybe, a unit."""

    @property
    def product(self) -> str: ...

    @property
    def uom(self) -> str | None: ...


async def line_products(
    conn: AsyncConnection, site: str, lines: Iterable[NamesProduct], *, kept_in: str
) -> dict[str, Any]:
    """The lines' products by code (id, code, uom): 422 ``INVALID_REFERENCE`` for codes the
    site does not have, 422 ``UOM_MISMATCH`` for a unit other than the product's. ``kept_in``
    words the unit's role in the message ("sold", "counted")."""
    lines = list(lines)
    codes = sorted({line.product for line in lines})
    found = {
        row.code: row
        for row in await conn.execute(
            select(products.c.id, products.c.code, products.c.uom).where(
                products.c.site == site, products.c.code.in_(codes)
            )
        )
    }
    missing = [code for code in codes if code not in found]
    if missing:
        raise InvalidReference(
            f"product(s) {', '.join(missing)} do not exist at {site}",
            details={"products": missing, "site": site},
        )
    for line in lines:
        uom = found[line.product].uom
        if line.uom is not None and line.uom != uom:
            raise InvalidInput(
                f"{line.product} is {kept_in} in {uom}, not {line.uom}: order it in {uom}",
                code="UOM_MISMATCH",
                details={"product": line.product, "uom": uom, "given": line.uom},
            )
    return found

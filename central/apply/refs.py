"""Products and locations by code, and which products have a low-stock threshold, cached
across transactions and kept right across replicas.

Every change to a cached attribute (a product's unit, merge rule or GTIN, a product deleted,
a product created with a GTIN, a low-stock threshold set or removed) bumps the ``references``
counter in ``number_sequences`` in the same transaction as the change. Each apply context
reads that counter once, before its first lookup, and a cache that saw an older value starts
over. So a product changed through one central replica is what every replica on the same
database applies next, at the cost of one primary-key read per transaction.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.apply.sscc import reserve_serials
from central.db.tables import locations, low_stock_thresholds, number_sequences, products
from protocol.gs1 import gtin_spellings

REFERENCES_SEQUENCE = "references"


@dataclass
class Product:
    """What the apply path needs to know of a product."""

    id: int
    code: str
    uom: str
    allow_merge: bool = False
    shelf_life_days: int | None = None
    gtin: str | None = None  # as the catalog wrote it (8 to 14 digits)


# What an action's checks read of a product (Product's fields, in order).
_PRODUCT_COLUMNS = (
    products.c.id,
    products.c.code,
    products.c.uom,
    products.c.allow_merge,
    products.c.shelf_life_days,
    products.c.gtin,
)


def _product(row: Row[Any, Any, Any, Any, Any, Any]) -> Product:
    return Product(row.id, row.code, row.uom, row.allow_merge, row.shelf_life_days, row.gtin)


@dataclass
class Location:
    """What the apply path needs to know of a location."""

    id: int
    code: str
    kind: str


async def references_changed(conn: AsyncConnection) -> None:
    """Record, inside the caller's transaction, that cached reference data changed."""
    await reserve_serials(conn, 1, name=REFERENCES_SEQUENCE)


class ReferenceCache:
    """Products and locations by (site, code), shared by every transaction of one process.

    Only hits are cached, so a product created a moment ago is found at once; changes and
    deletions reach the cache through the ``references`` counter (see the module docstring).
    """

    def __init__(self) -> None:
        self.version = 0
        self.products: dict[tuple[str, str], Product] = {}
        self.products_by_id: dict[int, Product] = {}
        self.gtins: dict[tuple[str, str], list[Product]] = {}
        self.locations: dict[tuple[str, str], Location] = {}
        self.locations_by_id: dict[int, Location] = {}
        self.thresholds: frozenset[tuple[str, int]] | None = None  # (site, product id)

    async def sync(self, conn: AsyncConnection) -> None:
        """Start over when the database's counter moved past what this cache has seen."""
        version = (
            await conn.execute(
                select(number_sequences.c.next_value).where(
                    number_sequences.c.name == REFERENCES_SEQUENCE
                )
            )
        ).scalar_one_or_none() or 0
        if version > self.version:  # an older snapshot (version lower) keeps the newer cache
            self.products.clear()
            self.products_by_id.clear()
            self.gtins.clear()
            self.locations.clear()
            self.locations_by_id.clear()
            self.thresholds = None
            self.version = version

    async def with_threshold(self, conn: AsyncConnection) -> frozenset[tuple[str, int]]:
        """(site, product id) of every product with a low-stock threshold: read once, then
        kept until the counter moves (a threshold set or removed moves it)."""
        if self.thresholds is None:
            rows = await conn.execute(
                select(low_stock_thresholds.c.site, low_stock_thresholds.c.product_id)
            )
            self.thresholds = frozenset((row.site, row.product_id) for row in rows)
        return self.thresholds

    async def product(self, conn: AsyncConnection, site: str, code: str) -> Product | None:
        """The product with this code at ``site``, or None."""
        key = (site, code)
        if key not in self.products:
            row = (
                await conn.execute(
                    select(*_PRODUCT_COLUMNS).where(
                        products.c.site == site, products.c.code == code
                    )
                )
            ).first()
            if row is None:
                return None
            self.products[key] = _product(row)
        return self.products[key]

    async def product_by_id(self, conn: AsyncConnection, product_id: int) -> Product:
        """A product by id (it exists: an LP or a work order points at it)."""
        if product_id not in self.products_by_id:
            row = (
                await conn.execute(select(*_PRODUCT_COLUMNS).where(products.c.id == product_id))
            ).one()
            self.products_by_id[product_id] = _product(row)
        return self.products_by_id[product_id]

    async def products_by_gtin(self, conn: AsyncConnection, site: str, gtin: str) -> list[Product]:
        """The products of ``site`` whose GTIN, in whatever length the catalog wrote it, is
        ``gtin`` (14 digits), ordered by code."""
        key = (site, gtin)
        if key not in self.gtins:
            rows = await conn.execute(
                select(*_PRODUCT_COLUMNS)
                .where(products.c.site == site, products.c.gtin.in_(gtin_spellings(gtin)))
                .order_by(products.c.code)
            )
            found = [_product(row) for row in rows]
            if not found:
                return []  # only hits are cached: the GTIN may be added to a product any moment
            self.gtins[key] = found
        return self.gtins[key]

    async def location(self, conn: AsyncConnection, site: str, code: str) -> Location | None:
        """Location ``code`` at ``site``, or None."""
        key = (site, code)
        if key not in self.locations:
            row = (
                await conn.execute(
                    select(locations.c.id, locations.c.kind).where(
                        locations.c.site == site, locations.c.code == code
                    )
                )
            ).first()
            if row is None:
                return None
            self._keep(site, Location(row.id, code, row.kind))
        return self.locations[key]

    async def location_by_id(self, conn: AsyncConnection, location_id: int) -> Location:
        """A location by id (it exists: an LP or a ledger row points at it)."""
        if location_id not in self.locations_by_id:
            row = (
                await conn.execute(
                    select(locations.c.site, locations.c.code, locations.c.kind).where(
                        locations.c.id == location_id
                    )
                )
            ).one()
            self._keep(row.site, Location(location_id, row.code, row.kind))
        return self.locations_by_id[location_id]

    def _keep(self, site: str, location: Location) -> None:
        """Cache a location under both of its keys."""
        self.locations[(site, location.code)] = location
        self.locations_by_id[location.id] = location

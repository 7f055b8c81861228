"""Per-transaction state of the apply path: batch-loaded LPs and WOs, buffered ledger rows."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import license_plates, locations, products, stock_moves, work_orders
from central.settings import CentralSettings


@dataclass
class Product:
    """What the apply path needs to know of a product."""

    id: int
    code: str
    uom: str


@dataclass
class LicensePlate:
    """An LP row as the apply path sees and changes it within one transaction."""

    id: int
    number: str
    product_id: int
    qty: Decimal
    uom: str
    lot: str | None
    expiry: date | None
    location_id: int
    status: str
    last_move_at: datetime | None


@dataclass
class WorkOrder:
    """A work order row as the apply path sees and changes it within one transaction."""

    id: int
    site: str
    number: str
    product_id: int
    uom: str
    status: str


class ReferenceCache:
    """Products and locations by business key, kept for the life of the process.

    Only hits are cached: reference rows are never deleted or re-keyed, and a miss is asked
    again next time, so a product created a moment ago is found at once.
    """

    def __init__(self) -> None:
        self.products: dict[str, Product] = {}
        self.locations: dict[tuple[str, str], int] = {}
        self.location_codes: dict[int, str] = {}

    async def product(self, conn: AsyncConnection, code: str) -> Product | None:
        """The product with this code, or None."""
        if code not in self.products:
            row = (await conn.execute(select(products.c.id, products.c.code, products.c.uom)
                                      .where(products.c.code == code))).first()
            if row is None:
                return None
            self.products[code] = Product(row.id, row.code, row.uom)
        return self.products[code]

    async def location(self, conn: AsyncConnection, site: str, code: str) -> int | None:
        """The id of location ``code`` at ``site``, or None."""
        key = (site, code)
        if key not in self.locations:
            found = (await conn.execute(select(locations.c.id).where(
                locations.c.site == site, locations.c.code == code))).scalar_one_or_none()
            if found is None:
                return None
            self.locations[key] = found
            self.location_codes[found] = code
        return self.locations[key]


@dataclass
class ApplyContext:
    """Everything appliers share inside one transaction (one batch, or one action on retry)."""

    conn: AsyncConnection
    settings: CentralSettings
    refs: ReferenceCache
    recorded_at: datetime
    lps: dict[str, LicensePlate | None] = field(default_factory=dict)
    wos: dict[str, WorkOrder | None] = field(default_factory=dict)
    moves: list[dict[str, Any]] = field(default_factory=list)

    async def load_lps(self, numbers: Iterable[str]) -> None:
        """Read (and on PostgreSQL row-lock) the LPs a batch names, in one query."""
        wanted = sorted({n for n in numbers if n not in self.lps})
        if not wanted:
            return
        query = (select(license_plates).where(license_plates.c.number.in_(wanted))
                 .order_by(license_plates.c.number).with_for_update())
        found = {row.number: _lp(row) for row in await self.conn.execute(query)}
        for number in wanted:
            self.lps[number] = found.get(number)

    async def lp(self, number: str) -> LicensePlate | None:
        """The LP with this number as of this transaction, or None."""
        if number not in self.lps:
            await self.load_lps([number])
        return self.lps[number]

    async def load_wos(self, numbers: Iterable[str]) -> None:
        """Read (and on PostgreSQL row-lock) the work orders a batch names, in one query."""
        wanted = sorted({n for n in numbers if n not in self.wos})
        if not wanted:
            return
        query = (select(work_orders.c.id, work_orders.c.site, work_orders.c.number,
                        work_orders.c.product_id, products.c.uom, work_orders.c.status)
                 .join(products, products.c.id == work_orders.c.product_id)
                 .where(work_orders.c.number.in_(wanted))
                 .order_by(work_orders.c.number).with_for_update(of=work_orders))
        found = {row.number: WorkOrder(row.id, row.site, row.number, row.product_id, row.uom,
                                       row.status)
                 for row in await self.conn.execute(query)}
        for number in wanted:
            self.wos[number] = found.get(number)

    async def wo(self, number: str) -> WorkOrder | None:
        """The work order with this number as of this transaction, or None."""
        if number not in self.wos:
            await self.load_wos([number])
        return self.wos[number]

    def ledger(self, *, lp: LicensePlate, kind: str, qty: Decimal, location_id: int,
               occurred_at: datetime, action_id: str, work_order_id: int | None = None,
               reference: str | None = None) -> None:
        """Buffer one ledger row; flush() writes the buffer in one statement."""
        self.moves.append({
            "lp_id": lp.id, "product_id": lp.product_id, "location_id": location_id,
            "kind": kind, "qty": qty, "occurred_at": occurred_at,
            "recorded_at": self.recorded_at, "action_id": action_id,
            "work_order_id": work_order_id, "reference": reference})

    async def flush(self) -> None:
        """Write buffered ledger rows (before anything reads the ledger, and before commit)."""
        if self.moves:
            await self.conn.execute(insert(stock_moves), self.moves)
            self.moves = []


def _lp(row: Any) -> LicensePlate:
    """A LicensePlate from a license_plates row."""
    return LicensePlate(row.id, row.number, row.product_id, row.qty, row.uom, row.lot,
                        row.expiry, row.location_id, row.status, row.last_move_at)

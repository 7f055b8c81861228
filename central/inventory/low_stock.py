"""Low stock: ``inventory.low_stock`` once per crossing of a product's threshold, written in the
transaction of the change that crossed it.

A product's stock, here, is its **available** quantity at its site, as
central/inventory/availability.py defines it and ``GET /inventory/available`` sums it: on
hand in LPs that are neither consumed nor shipped, less what is on quality hold, expired or
reserved, wherever the LPs are. Each threshold row keeps whether stock was below it when last
checked; the event is written only when that turns true, and stock back at or above the
threshold turns it false again (re-armed, nothing written).

The apply context collects the products whose stock a transaction touched (every new or
changed LP and every ledger row goes through it) and checks them once, at the end: a
crossing is judged on the transaction's final stock, never on a state in between. Only
products with a threshold are read; the set of those is cached per process and refreshed
with the reference data (central/apply/refs.py), so products without thresholds cost
nothing. The threshold rows are locked (PostgreSQL) before stock is read: of two
transactions crossing at once, the second waits, then sees the first's stock and its
``below``, and writes nothing.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import license_plates, low_stock_thresholds, products, reservations
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType
from central.inventory.availability import ON_HAND, parts
from protocol.types import format_qty

lp = license_plates
thresholds = low_stock_thresholds


@dataclass(frozen=True, slots=True)
class StockChange:
    """What last changed a product's stock in a transaction: the ledger row's kind (None for a
    change of status alone, a quality hold), the LP, and the action or audit entry that
    caused it, with when it happened."""

    lp: str | None = None
    kind: str | None = None
    status: str | None = None
    action_id: str | None = None
    cause: str | None = None  # "action" (a floor action) or "api" (an audited API call)
    occurred_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        """The event's ``change``: the fields known, by name."""
        fields = {
            "lp": self.lp,
            "kind": self.kind,
            "status": self.status,
            "action_id": self.action_id,
            "cause": self.cause,
        }
        return {k: v for k, v in fields.items() if v is not None}


# Ledger kinds that leave a product's available stock as it was (the LP moved, or split into
# two LPs alike); merging may not (the merged LP takes the older expiry, or the hold).
_NEUTRAL = frozenset({"TRANSFER_OUT", "TRANSFER_IN", "SPLIT_OUT", "SPLIT_IN"})
_LOWERING_STATUSES = frozenset({"on_hold", "consumed", "shipped"})


@dataclass(slots=True)
class Touched:
    """What a transaction did to one product's stock: what changed it last, and whether any
    change may have lowered or raised what is available. Stock that was not below and was only
    raised cannot have crossed down, and stock below that was only lowered cannot be back:
    neither is read."""

    change: StockChange
    lowers: bool = False
    raises: bool = False

    def ledger(self, kind: str, qty: Decimal) -> None:
        """Note a ledger row: a reservation taken lowers, given back raises; a quantity
        row by its sign."""
        if kind in _NEUTRAL:
            return
        if kind == "RESERVE" or kind.startswith("MERGE"):
            self.lowers = True
        if kind == "RELEASE" or kind.startswith("MERGE"):
            self.raises = True
        if kind not in ("RESERVE", "RELEASE"):
            self.lowers |= qty < 0
            self.raises |= qty > 0

    def status(self, status: str) -> None:
        """Note an LP's status: a hold (or an LP gone) lowers; an available LP (a hold
        released, an LP made) raises."""
        self.lowers |= status in _LOWERING_STATUSES
        self.raises |= status == "available"


def reserved_of_lp() -> Any:
    """An LP's active reservations, summed (NULL when none): a correlated subquery on the
    reservations' LP index, so only the LPs read are summed."""
    return (
        select(func.sum(reservations.c.qty))
        .where(reservations.c.lp_id == lp.c.id, reservations.c.status == "active")
        .scalar_subquery()
    )


async def available_stock(
    conn: AsyncConnection, site: str, product_ids: set[int], today: date
) -> dict[int, Decimal]:
    """Available stock of these products at ``site`` as of ``today`` (0 for one without)."""
    if not product_ids:
        return {}
    free = parts(today, reserved_of_lp())["available"]
    query = (
        select(lp.c.product_id, func.coalesce(func.sum(free), 0).label("qty"))
        .where(lp.c.site == site, lp.c.product_id.in_(product_ids), lp.c.status.in_(ON_HAND))
        .group_by(lp.c.product_id)
    )
    found = {row.product_id: Decimal(row.qty) for row in await conn.execute(query)}
    return {pid: found.get(pid, Decimal(0)) for pid in product_ids}


async def check_crossings(
    conn: AsyncConnection,
    changes: Mapping[tuple[str, int], Touched],
    *,
    at: datetime,
) -> int:
    """Check the thresholds of the products in ``changes`` (keys: site, product id) against
    their stock now; write ``inventory.low_stock`` for each that went below, re-arm each back
    at or above. Answers how many events were written. Products without a threshold are
    skipped; call it once per transaction, at its end."""
    if not changes:
        return 0
    query = (
        select(
            thresholds.c.product_id,
            thresholds.c.site,
            thresholds.c.min_qty,
            thresholds.c.below,
            products.c.code,
            products.c.uom,
        )
        .join(products, products.c.id == thresholds.c.product_id)
        .where(thresholds.c.product_id.in_({pid for _, pid in changes}))
        .order_by(thresholds.c.product_id)  # one lock order for every transaction
        .with_for_update(of=thresholds)
    )
    rows = [
        row
        for row in await conn.execute(query)
        if (touched := changes.get((row.site, row.product_id))) is not None
        and (touched.raises if row.below else touched.lowers)
    ]
    if not rows:
        return 0
    stock: dict[int, Decimal] = {}
    for site in {row.site for row in rows}:
        ids = {row.product_id for row in rows if row.site == site}
        stock.update(await available_stock(conn, site, ids, at.date()))
    events, turned = [], []
    for row in rows:
        qty = stock[row.product_id]
        below = qty < row.min_qty
        if below == row.below:
            continue
        turned.append({"row_id": row.product_id, "row_below": below})
        if below:
            change = changes[(row.site, row.product_id)].change
            events.append(low_stock_event(row.site, row.code, row.uom, row.min_qty, qty, change))
    if turned:
        await _turn(conn, turned, at)
    return await write_events(conn, events)


async def _turn(conn: AsyncConnection, turned: list[dict[str, Any]], at: datetime) -> None:
    """Record that these thresholds' stock crossed them (one statement)."""
    await conn.execute(
        update(thresholds)
        .where(thresholds.c.product_id == bindparam("row_id"))
        .values(below=bindparam("row_below"), crossed_at=at, updated_at=at),
        turned,
    )


def low_stock_event(
    site: str, code: str, uom: str, min_qty: Decimal, qty: Decimal, change: StockChange
) -> DomainEvent:
    """The ``inventory.low_stock`` event of a product whose stock went below ``min_qty``."""
    return DomainEvent(
        EventType.INVENTORY_LOW_STOCK,
        site,
        code,
        {
            "site": site,
            "product": code,
            "uom": uom,
            "min_qty": format_qty(min_qty),
            "qty": format_qty(qty),
            "change": change.as_json(),
        },
        occurred_at=change.occurred_at,
        cause=change.action_id,
    )

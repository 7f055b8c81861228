"""Per-transaction state of the apply path: batch-loaded LPs and WOs, buffered writes.

Operations change LPs in memory and buffer ledger and genealogy rows; ``flush`` writes them all
with one statement per table (new LPs, changed LPs, ledger, genealogy). A statement costs far
more than a row, so a batch of 200 actions costs a dozen statements, not hundreds.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from central.apply.refs import Location, Product, ReferenceCache
from central.apply.sscc import make_sscc, reserve_serials
from central.db.tables import license_plates, lp_genealogy, products, stock_moves, work_orders
from central.events.outbox import DomainEvent, outbox_on, write_events
from central.events.types import EventType
from central.inventory.low_stock import StockChange, Touched, check_crossings
from central.settings import CentralSettings
from protocol import Envelope

_SAVE_LP = (
    update(license_plates)
    .where(license_plates.c.id == bindparam("lp_id"))
    .values(
        qty=bindparam("qty"),
        location_id=bindparam("location_id"),
        status=bindparam("status"),
        last_move_at=bindparam("last_move_at"),
        parent_lp_id=bindparam("parent_lp_id"),
    )
)


def _numbered(keys: Iterable[tuple[str, str]]) -> ColumnElement[bool]:
    """LPs by (site, number): ``site = ? AND number IN (...)`` per site, each a seek on the
    unique (site, number) index."""
    by_site: dict[str, list[str]] = {}
    for site, number in keys:
        by_site.setdefault(site, []).append(number)
    return or_(
        *(
            and_(license_plates.c.site == site, license_plates.c.number.in_(numbers))
            for site, numbers in by_site.items()
        )
    )


@dataclass
class LicensePlate:
    """An LP row as the apply path sees and changes it; ``id`` is None until a new LP is flushed."""

    id: int | None
    site: str
    number: str
    product_id: int
    qty: Decimal
    uom: str
    lot: str | None
    expiry: date | None
    location_id: int
    status: str
    last_move_at: datetime | None
    parent_lp_id: int | None = None
    # The supplier label's dates (AI 11, AI 15) as received; a split's child keeps them.
    production_date: date | None = None
    best_before: date | None = None


@dataclass
class WorkOrder:
    """A work order row as the apply path sees and changes it within one transaction."""

    id: int
    site: str
    number: str
    product_id: int
    uom: str
    status: str
    shelf_life_days: int | None = None  # of its product: dates what it outputs


@dataclass(frozen=True)
class Origin:
    """What caused a change: its site, the floor action or audit entry (by id), who, and when.

    The floor's origin is the envelope; an API call's is its audit entry. Operations take one
    so the same code serves both doors.
    """

    site: str
    action_id: str
    occurred_at: datetime
    by: str
    station: str | None = None  # the floor station an action came from

    @classmethod
    def of(cls, env: Envelope) -> "Origin":
        """The origin of a floor action."""
        return cls(env.site, env.id, env.occurred_at, env.operator, env.station)


@dataclass
class ApplyContext:
    """Everything appliers share inside one transaction (one batch, or one action on retry)."""

    conn: AsyncConnection
    settings: CentralSettings
    refs: ReferenceCache
    recorded_at: datetime
    # A supervisor's "apply anyway": status checks are waived and shortfalls are booked as
    # CORRECTION rows. Ledger rows of a resolution are caused by its audit entry, not an action.
    force: bool = False
    cause: str = "action"
    # What a forced action went over: held LP number -> ids of the active holds covering it,
    # reported by the checks force waived (central/inventory/checks.py). Only the quality role
    # may apply such an action anyway (central/conflicts/resolution.py).
    over_holds: dict[str, list[int]] = field(default_factory=dict)
    # LPs by (site, number): a number is unique per site, and two plants may each have one.
    lps: dict[tuple[str, str], LicensePlate | None] = field(default_factory=dict)
    wos: dict[tuple[str, str], WorkOrder | None] = field(default_factory=dict)
    moves: list[tuple[LicensePlate, dict[str, Any]]] = field(default_factory=list)
    new_lps: list[tuple[LicensePlate, dict[str, Any]]] = field(default_factory=list)
    changed_lps: dict[int, LicensePlate] = field(default_factory=dict)
    links: list[tuple[int, LicensePlate, dict[str, Any]]] = field(default_factory=list)
    serials: list[int] = field(default_factory=list)
    # LP id -> whether LPs were packed in it when first asked (appliers/lp.py asks for a
    # whole batch in one query, so moves of unpacked LPs cost no statement each).
    has_packed: dict[int, bool] = field(default_factory=dict)
    # Active reservations by LP id, and work order id -> whether it holds any: each loaded
    # for a whole batch in one query and kept current by central/production/reservations.py,
    # so consuming unreserved stock costs no statement each.
    claims: dict[int, list[Any]] = field(default_factory=dict)
    reserving: dict[int, bool] = field(default_factory=dict)
    refs_synced: bool = False
    # What a domain looks up once per transaction, under keys of its own (production's
    # material lines per work order); ``flushes`` counts the flushes that wrote ledger rows,
    # so a total counted from the buffer knows when those rows moved to the table.
    memo: dict[Any, Any] = field(default_factory=dict)
    flushes: int = 0
    # Domain events of this transaction's changes, written at flush with the rows they tell
    # of (central/events/outbox.py): they commit together or not at all.
    events: list[DomainEvent] = field(default_factory=list)
    # (site, product id) -> what this transaction did to that product's stock, from every new
    # or changed LP and every ledger row flushed: the products whose low-stock thresholds
    # ``finish`` checks (central/inventory/low_stock.py).
    stock_changes: dict[tuple[str, int], Touched] = field(default_factory=dict)
    # False on an engine made with the outbox off: events are neither built nor buffered.
    writes_events: bool = field(init=False)

    def __post_init__(self) -> None:
        self.writes_events = outbox_on(self.conn)

    def emit(
        self,
        type: EventType,
        origin: "Origin",
        subject: str,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """Buffer one domain event caused by ``origin``; flush writes it."""
        if not self.writes_events:
            return
        self.events.append(
            DomainEvent(
                type,
                origin.site,
                subject,
                payload or {},
                occurred_at=origin.occurred_at,
                cause=origin.action_id,
            )
        )

    def event(
        self,
        type: EventType,
        site: str | None,
        subject: str,
        payload: dict[str, Any] | None = None,
        *,
        cause: str | None,
        occurred_at: datetime | None = None,
    ) -> None:
        """Buffer one domain event where no ``Origin`` is at hand (an API service, a step
        shared by both doors); it happened at ``occurred_at``, by default now."""
        if not self.writes_events:
            return
        self.events.append(
            DomainEvent(
                type,
                site,
                subject,
                payload or {},
                occurred_at=occurred_at or self.recorded_at,
                cause=cause,
            )
        )

    def _cause_of(self, lp: LicensePlate) -> tuple[str | None, datetime | None]:
        """The action or call, and its time, of the latest buffered event told of ``lp``:
        what a change of its status alone (a hold) names as its cause. Looked up only for
        the first LP of a product in a flush, so the floor's hot path pays nothing per event."""
        for event in reversed(self.events):
            if event.site == lp.site and (
                event.subject == lp.number or lp.number in (event.payload.get("lps") or ())
            ):
                return event.cause, event.occurred_at
        return None, None

    async def _refs(self) -> ReferenceCache:
        """The shared reference cache, checked against the database once per transaction."""
        if not self.refs_synced:
            await self.refs.sync(self.conn)
            self.refs_synced = True
        return self.refs

    async def product(self, site: str, code: str) -> Product | None:
        """The product ``code`` of ``site`` as the apply path sees it, or None."""
        return await (await self._refs()).product(self.conn, site, code)

    async def products_by_gtin(self, site: str, gtin: str) -> list[Product]:
        """The products of ``site`` that carry ``gtin`` (14 digits), by code; none, one, or
        (a catalog mistake) several."""
        return await (await self._refs()).products_by_gtin(self.conn, site, gtin)

    async def product_by_id(self, product_id: int) -> Product:
        """A product an LP or a work order points at."""
        return await (await self._refs()).product_by_id(self.conn, product_id)

    async def location(self, site: str, code: str) -> Location | None:
        """Location ``code`` of ``site``, or None."""
        return await (await self._refs()).location(self.conn, site, code)

    async def location_by_id(self, location_id: int) -> Location:
        """A location an LP or a ledger row points at."""
        return await (await self._refs()).location_by_id(self.conn, location_id)

    def add_lp(self, lp: LicensePlate, **columns: Any) -> None:
        """A new LP: cached now, inserted at flush with its other columns."""
        self.lps[(lp.site, lp.number)] = lp
        self.new_lps.append((lp, columns))

    def save_lp(self, lp: LicensePlate) -> None:
        """Mark an LP changed (qty, place, status, last move) so flush writes it."""
        if lp.id is not None:
            self.changed_lps[lp.id] = lp

    def link(
        self,
        *,
        source_id: int,
        target: LicensePlate,
        kind: str,
        action_id: str,
        work_order_id: int | None = None,
    ) -> None:
        """Buffer a genealogy link: LP ``source_id`` went into ``target`` (possibly new)."""
        self.links.append(
            (
                source_id,
                target,
                {
                    "kind": kind,
                    "action_id": action_id,
                    "work_order_id": work_order_id,
                    "created_at": self.recorded_at,
                },
            )
        )

    async def reserve_sscc(self, count: int, sites: Iterable[str]) -> None:
        """Take ``count`` SSCC serials in one statement, and learn which numbers already exist
        at the ``sites`` that will use them."""
        if count <= 0:
            return
        self.serials.extend(await reserve_serials(self.conn, count))
        numbers = [self._sscc(serial) for serial in self.serials]
        await self.load_lps((site, number) for site in set(sites) for number in numbers)

    async def next_sscc(self, site: str) -> str:
        """A fresh SSCC no LP of ``site`` carries yet (a label from elsewhere may hold it)."""
        while True:
            if not self.serials:
                await self.reserve_sscc(1, [site])
            number = self._sscc(self.serials.pop(0))
            if await self.lp(site, number) is None:
                return number

    def _sscc(self, serial: int) -> str:
        """The SSCC-18 of one serial under the configured prefix."""
        return make_sscc(
            extension=self.settings.sscc_extension,
            company_prefix=self.settings.gs1_company_prefix,
            serial=serial,
        )

    async def load_lps(self, keys: Iterable[tuple[str, str]]) -> None:
        """Read (and on PostgreSQL row-lock) the LPs a batch names by (site, number), in one
        query."""
        wanted = sorted({k for k in keys if k not in self.lps})
        if not wanted:
            return
        query = (
            select(license_plates)
            .where(_numbered(wanted))
            .order_by(license_plates.c.site, license_plates.c.number)
            .with_for_update()
        )
        found = {(row.site, row.number): _lp(row) for row in await self.conn.execute(query)}
        for key in wanted:
            self.lps[key] = found.get(key)

    async def lp(self, site: str, number: str) -> LicensePlate | None:
        """The LP ``number`` of ``site`` as of this transaction, or None."""
        if (site, number) not in self.lps:
            await self.load_lps([(site, number)])
        return self.lps[(site, number)]

    async def load_wos(self, keys: Iterable[tuple[str, str]]) -> None:
        """Read (and on PostgreSQL row-lock) the work orders a batch names by (site, number)."""
        wanted = sorted({k for k in keys if k not in self.wos})
        if not wanted:
            return
        query = (
            select(
                work_orders.c.id,
                work_orders.c.site,
                work_orders.c.number,
                work_orders.c.product_id,
                products.c.uom,
                work_orders.c.status,
                products.c.shelf_life_days,
            )
            .join(products, products.c.id == work_orders.c.product_id)
            .where(tuple_(work_orders.c.site, work_orders.c.number).in_(wanted))
            .order_by(work_orders.c.site, work_orders.c.number)
            .with_for_update(of=work_orders)
        )
        found = {
            (row.site, row.number): WorkOrder(
                row.id,
                row.site,
                row.number,
                row.product_id,
                row.uom,
                row.status,
                row.shelf_life_days,
            )
            for row in await self.conn.execute(query)
        }
        for key in wanted:
            self.wos[key] = found.get(key)

    async def wo(self, site: str, number: str) -> WorkOrder | None:
        """The work order ``number`` of ``site`` as of this transaction, or None."""
        if (site, number) not in self.wos:
            await self.load_wos([(site, number)])
        return self.wos[(site, number)]

    def ledger(
        self,
        *,
        lp: LicensePlate,
        kind: str,
        qty: Decimal,
        location_id: int,
        occurred_at: datetime,
        action_id: str,
        work_order_id: int | None = None,
        reference: str | None = None,
    ) -> None:
        """Buffer one ledger row; flush() writes the buffer in one statement."""
        self.moves.append(
            (
                lp,
                {
                    "site": lp.site,
                    "product_id": lp.product_id,
                    "location_id": location_id,
                    "kind": kind,
                    "qty": qty,
                    "occurred_at": occurred_at,
                    "recorded_at": self.recorded_at,
                    "cause": self.cause,
                    "action_id": action_id,
                    "work_order_id": work_order_id,
                    "reference": reference,
                },
            )
        )

    async def finish(self) -> None:
        """End the transaction's work: write what is buffered, then check the low-stock
        thresholds of the products whose stock it changed, once, on its final stock."""
        await self.flush()
        if not self.stock_changes:
            return
        keys = await (await self._refs()).with_threshold(self.conn)
        changes = {key: change for key, change in self.stock_changes.items() if key in keys}
        self.stock_changes = {}
        await check_crossings(self.conn, changes, at=self.recorded_at)

    def _note_stock(self) -> None:
        """Note the products whose stock the buffered rows change, and how: a ledger row says
        most (its kind, action and sign), an LP its status."""
        notes = self.stock_changes
        for lp in [*self.changed_lps.values(), *(lp for lp, _ in self.new_lps)]:
            key = (lp.site, lp.product_id)
            if key not in notes:
                action_id, at = self._cause_of(lp)
                notes[key] = Touched(
                    StockChange(
                        lp=lp.number,
                        status=lp.status,
                        action_id=action_id,
                        cause=self.cause if action_id else None,
                        occurred_at=at,
                    )
                )
            notes[key].status(lp.status)
        for lp, row in self.moves:
            key = (lp.site, lp.product_id)
            change = StockChange(
                lp=lp.number,
                kind=row["kind"],
                action_id=row["action_id"],
                cause=row["cause"],
                occurred_at=row["occurred_at"],
            )
            if key in notes:
                notes[key].change = change
            else:
                notes[key] = Touched(change)
            notes[key].ledger(row["kind"], row["qty"])

    async def flush(self) -> None:
        """Write everything buffered (before anything reads these tables, and before commit)."""
        self._note_stock()
        if self.new_lps:
            rows = [
                {
                    "site": lp.site,
                    "number": lp.number,
                    "product_id": lp.product_id,
                    "qty": lp.qty,
                    "uom": lp.uom,
                    "lot": lp.lot,
                    "expiry": lp.expiry,
                    "location_id": lp.location_id,
                    "status": lp.status,
                    "parent_lp_id": lp.parent_lp_id,
                    "last_move_at": lp.last_move_at,
                    "production_date": lp.production_date,
                    "best_before": lp.best_before,
                    **columns,
                }
                for lp, columns in self.new_lps
            ]
            # One multi-row INSERT, then the ids by (site, number). INSERT ... RETURNING in
            # parameter order is not batched on SQLite (it cannot order a multi-row
            # RETURNING), which cost one statement and one thread hop per new LP.
            await self.conn.execute(insert(license_plates), rows)
            keys = [(lp.site, lp.number) for lp, _ in self.new_lps]
            found = await self.conn.execute(
                select(license_plates.c.site, license_plates.c.number, license_plates.c.id).where(
                    _numbered(keys)
                )
            )
            ids = {(row.site, row.number): row.id for row in found}
            for lp, _ in self.new_lps:
                lp.id = ids[(lp.site, lp.number)]
            self.new_lps = []
        if self.changed_lps:
            await self.conn.execute(
                _SAVE_LP,
                [
                    {
                        "lp_id": lp.id,
                        "qty": lp.qty,
                        "location_id": lp.location_id,
                        "status": lp.status,
                        "last_move_at": lp.last_move_at,
                        "parent_lp_id": lp.parent_lp_id,
                    }
                    for lp in self.changed_lps.values()
                ],
            )
            self.changed_lps = {}
        if self.moves:
            await self.conn.execute(
                insert(stock_moves), [{"lp_id": lp.id, **row} for lp, row in self.moves]
            )
            self.moves = []
            self.flushes += 1
        if self.links:
            await self.conn.execute(
                insert(lp_genealogy),
                [
                    {"from_lp_id": source_id, "to_lp_id": target.id, **row}
                    for source_id, target, row in self.links
                ],
            )
            self.links = []
        if self.events:
            await write_events(self.conn, self.events)
            self.events = []


def _lp(row: Any) -> LicensePlate:
    """A LicensePlate from a license_plates row."""
    return LicensePlate(
        row.id,
        row.site,
        row.number,
        row.product_id,
        row.qty,
        row.uom,
        row.lot,
        row.expiry,
        row.location_id,
        row.status,
        row.last_move_at,
        row.parent_lp_id,
        row.production_date,
        row.best_before,
    )

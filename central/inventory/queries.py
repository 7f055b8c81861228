"""Read side of inventory: one LP, LP lists, what an LP holds, and the stock-move ledger.

``sites`` is the caller's site filter (None: every site); a record of another site reads as
missing, so a token of one plant learns nothing of another's LPs.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.enums import LpStatus, MoveKind
from central.db.rows import as_dict, page
from central.db.tables import license_plates, locations, products, stock_moves, work_orders
from central.errors import Ambiguous, NotFound
from central.inventory import nesting
from protocol.gs1 import sscc_check_misfit, sscc_digits


def lp_spellings(number: str) -> list[str]:
    """The LP numbers ``number`` may mean: itself, then, when it spells an SSCC with its
    application identifier ("00" + 18 digits, "(00)" + 18 digits), the 18-digit SSCC an LP
    labelled with it is numbered by."""
    sscc = sscc_digits(number)
    return [number] if sscc is None or sscc == number else [number, sscc]


def lp_not_found(number: str) -> NotFound:
    """The error for an LP none of the spellings of ``number`` names (among the sites seen)."""
    spellings = lp_spellings(number)
    details: dict[str, Any] = {"number": number}
    also = ""
    if len(spellings) > 1:
        details["sscc"] = spellings[1]
        also = f" (nor an LP numbered by its SSCC {spellings[1]})"
    elif (expected := sscc_check_misfit(number)) is not None:
        details["sscc_check_digit"] = expected
        also = f" (as an SSCC its check digit would be {expected}: mistyped?)"
    return NotFound(f"LP {number} does not exist{also}", details=details)


async def _one_by_number(conn: AsyncConnection, query: Any, number: str) -> Any:
    """The one LP row ``query`` finds by ``number`` as given, else by the SSCC it spells."""
    for spelling in lp_spellings(number):  # as given first: an LP may carry any label
        rows = list(await conn.execute(query.where(license_plates.c.number == spelling).limit(2)))
        if rows:
            return only_lp(rows, spelling)
    raise lp_not_found(number)


def only_lp(rows: list[Any], number: str) -> Any:
    """The one LP row found by number: NotFound when none (or only other sites' LPs), and
    LP_AMBIGUOUS when the number is an LP at several of the sites searched (numbers are unique
    per site): the caller names the site with ``?site=``."""
    if not rows:
        raise NotFound(f"LP {number} does not exist", details={"number": number})
    if len(rows) > 1:
        raise ambiguous_lp(number, [row.site for row in rows])
    return rows[0]


def ambiguous_lp(number: str, sites: list[str]) -> Ambiguous:
    """The error for an LP number found at several of the caller's sites."""
    return Ambiguous(
        f"LP {number} exists at several of your sites ({', '.join(sorted(sites))}); "
        "name one with ?site=",
        code="LP_AMBIGUOUS",
        details={"number": number, "sites": sorted(sites)},
    )


@dataclass(frozen=True, slots=True)
class LpRow:
    """An LP in a list, with the LP it is packed in (``parent``), if any."""

    number: str
    site: str
    product: str
    qty: Decimal
    uom: str
    lot: str | None
    expiry: date | None
    production_date: date | None  # the supplier label's (AI 11), when received with one
    best_before: date | None  # the supplier label's (AI 15), when received with one
    location: str
    status: LpStatus
    parent: str | None
    last_move_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LicensePlate(LpRow):
    """One LP: a row of the list, and the action that made it."""

    created_by_action: str | None


@dataclass(frozen=True, slots=True)
class LpContents(LpRow):
    """An LP and every LP nested in it, any depth, shallowest first."""

    contents: list[LpRow]


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One ledger row with its LP, product, location and work order by number or code."""

    id: int
    site: str
    lp: str
    product: str
    location: str
    kind: MoveKind
    qty: Decimal
    uom: str
    occurred_at: datetime
    recorded_at: datetime
    cause: str
    action_id: str
    work_order: str | None
    reference: str | None


def _listed() -> tuple[Select[Any], Any]:
    """LP columns with product, location and parent (packed-in) numbers."""
    packed_in = license_plates.alias("packed_in")
    lp = license_plates
    query = (
        select(
            lp.c.id,
            lp.c.number,
            lp.c.site,
            products.c.code.label("product"),
            lp.c.qty,
            lp.c.uom,
            lp.c.lot,
            lp.c.expiry,
            lp.c.production_date,
            lp.c.best_before,
            locations.c.code.label("location"),
            lp.c.status,
            packed_in.c.number.label("parent"),
            lp.c.last_move_at,
            lp.c.created_at,
        )
        .join(products, products.c.id == lp.c.product_id)
        .join(locations, locations.c.id == lp.c.location_id)
        .outerjoin(packed_in, packed_in.c.id == lp.c.parent_lp_id)
    )
    return query, packed_in


async def list_license_plates(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    product: str | None = None,
    location: str | None = None,
    lot: str | None = None,
    status: str | None = None,
    parent: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[LpRow]:
    """LPs in number order, filtered by product code, location code, lot, status, parent."""
    limit, offset = page(limit, offset)
    query, packed_in = _listed()
    for column, value in (
        (products.c.code, product),
        (locations.c.code, location),
        (license_plates.c.lot, lot),
        (license_plates.c.status, status),
        (packed_in.c.number, parent),
    ):
        if value is not None:
            query = query.where(column == value)
    if sites is not None:
        query = query.where(license_plates.c.site.in_(sites))
    query = query.order_by(license_plates.c.number).limit(limit).offset(offset)
    return [LpRow(**_public(row)) for row in await conn.execute(query)]


async def get_contents(
    conn: AsyncConnection, *, number: str, sites: list[str] | None
) -> LpContents:
    """An LP (by number, or its SSCC in any spelling) with every LP nested in it (any depth),
    each naming the LP it is packed in."""
    query, _ = _listed()
    if sites is not None:
        query = query.where(license_plates.c.site.in_(sites))
    row = await _one_by_number(conn, query, number)
    ids = await nesting.nested_ids(conn, lp_id=row.id)
    inside: list[LpRow] = []
    if ids:
        query, _ = _listed()
        found = {
            r.id: LpRow(**_public(r))
            for r in await conn.execute(query.where(license_plates.c.id.in_(ids)))
        }
        inside = [found[i] for i in ids if i in found]  # shallowest first
    return LpContents(**_public(row), contents=inside)


def _public(row: Any) -> dict[str, Any]:
    """A listed row without its internal id, by column name (the LpRow fields)."""
    out = as_dict(row)
    out.pop("id")
    return out


_parent = license_plates.alias("parent")


async def get_license_plate(
    conn: AsyncConnection, *, number: str, sites: list[str] | None = None
) -> LicensePlate:
    """One LP by number (or by its SSCC in any spelling) with its product and location codes
    and its parent LP, or NotFound."""
    query = (
        select(
            license_plates.c.number,
            products.c.code.label("product"),
            license_plates.c.qty,
            license_plates.c.uom,
            license_plates.c.lot,
            license_plates.c.expiry,
            license_plates.c.production_date,
            license_plates.c.best_before,
            license_plates.c.site,
            locations.c.code.label("location"),
            license_plates.c.status,
            _parent.c.number.label("parent"),
            license_plates.c.last_move_at,
            license_plates.c.created_at,
            license_plates.c.created_by_action,
        )
        .join(products, products.c.id == license_plates.c.product_id)
        .join(locations, locations.c.id == license_plates.c.location_id)
        .outerjoin(_parent, _parent.c.id == license_plates.c.parent_lp_id)
    )
    if sites is not None:
        query = query.where(license_plates.c.site.in_(sites))
    return LicensePlate(**as_dict(await _one_by_number(conn, query, number)))


async def list_stock_moves(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    lp: str | None = None,
    work_order: str | None = None,
    kind: str | None = None,
    action_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[LedgerRow]:
    """Ledger rows in the order central recorded them, optionally filtered."""
    limit, offset = page(limit, offset)
    query = (
        select(
            stock_moves.c.id,
            stock_moves.c.site,
            license_plates.c.number.label("lp"),
            products.c.code.label("product"),
            locations.c.code.label("location"),
            stock_moves.c.kind,
            stock_moves.c.qty,
            license_plates.c.uom,
            stock_moves.c.occurred_at,
            stock_moves.c.recorded_at,
            stock_moves.c.cause,
            stock_moves.c.action_id,
            work_orders.c.number.label("work_order"),
            stock_moves.c.reference,
        )
        .join(license_plates, license_plates.c.id == stock_moves.c.lp_id)
        .join(products, products.c.id == stock_moves.c.product_id)
        .join(locations, locations.c.id == stock_moves.c.location_id)
        .outerjoin(work_orders, work_orders.c.id == stock_moves.c.work_order_id)
        .order_by(stock_moves.c.id)
    )
    if sites is not None:
        query = query.where(stock_moves.c.site.in_(sites))
    for column, value in (
        (license_plates.c.number, lp),
        (work_orders.c.number, work_order),
        (stock_moves.c.kind, kind),
        (stock_moves.c.action_id, action_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return [
        LedgerRow(**as_dict(row)) for row in await conn.execute(query.limit(limit).offset(offset))
    ]

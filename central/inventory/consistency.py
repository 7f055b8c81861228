"""The consistency check: LP projections (qty, place, status) proven against the ledger.

The ledger is the truth and ``license_plates`` a projection of it. The check is set-based:
one pass groups the ledger by (LP, location, product) and joins the LPs, answering only the
LPs that disagree; the other checks read the LP and reservation tables alone. Each check is
one statement, so on PostgreSQL it sees one snapshot even while actions keep applying.
"""

import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.engine import make_engine
from central.db.enums import QTY_KINDS
from central.db.tables import license_plates, locations, products, reservations
from central.db.tables import stock_moves as ledger
from central.errors import DatabaseUnavailable
from protocol.types import format_qty

MAX_PROBLEMS = 1000
HOLDING = ("available", "on_hold")  # statuses of an LP that must hold stock
lp = license_plates


@dataclass(frozen=True, slots=True)
class CheckCounts:
    """How much the consistency check looked at."""

    lps: int
    ledger_rows: int


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The consistency check: LP projections against the ledger (problems vary by kind)."""

    ok: bool
    checked: CheckCounts
    problems: list[dict[str, Any]]
    truncated: bool
    elapsed_ms: int


def _in_sites(query: Select[Any], sites: list[str] | None) -> Select[Any]:
    """Restrict a query on LPs to the given sites (None: all)."""
    return query if sites is None else query.where(lp.c.site.in_(sites))


def _balances(sites: list[str] | None) -> Any:
    """Ledger balance per (LP, location, product), memo rows (RESERVE/RELEASE) left out."""
    query = (
        select(
            ledger.c.lp_id,
            ledger.c.location_id,
            ledger.c.product_id,
            func.sum(ledger.c.qty).label("balance"),
        )
        .where(ledger.c.kind.in_(QTY_KINDS))
        .group_by(ledger.c.lp_id, ledger.c.location_id, ledger.c.product_id)
    )
    if sites is not None:
        query = query.where(ledger.c.lp_id.in_(select(lp.c.id).where(lp.c.site.in_(sites))))
    return query.subquery("balances")


async def _ledger_problems(conn: AsyncConnection, sites: list[str] | None) -> list[dict[str, Any]]:
    """LPs whose qty differs from their ledger sum, or whose balance sits elsewhere."""
    bal = _balances(sites)
    total = func.coalesce(func.sum(bal.c.balance), 0)
    stray = func.coalesce(
        func.sum(
            case(
                (
                    and_(
                        bal.c.balance != 0,
                        or_(
                            bal.c.location_id != lp.c.location_id,
                            bal.c.product_id != lp.c.product_id,
                        ),
                    ),
                    1,
                ),
                else_=0,
            )
        ),
        0,
    )
    query = _in_sites(
        select(lp.c.id, lp.c.number, lp.c.qty, total.label("ledger"), stray.label("stray"))
        .select_from(lp.outerjoin(bal, bal.c.lp_id == lp.c.id))
        .group_by(lp.c.id, lp.c.number, lp.c.qty)
        .having(or_(lp.c.qty != total, stray > 0))
        .order_by(lp.c.number)
        .limit(MAX_PROBLEMS + 1),
        sites,
    )
    rows = (await conn.execute(query)).all()
    problems: list[dict[str, Any]] = []
    for row in rows:
        ledger_qty = Decimal(row.ledger)
        if row.qty != ledger_qty:
            problems.append(
                _problem(
                    "QTY_MISMATCH",
                    row.number,
                    ledger_qty,
                    row.qty,
                    f"LP {row.number} holds {format_qty(row.qty)} but its "
                    f"ledger rows sum to {format_qty(ledger_qty)}",
                )
            )
        if ledger_qty < 0:
            problems.append(
                _problem(
                    "NEGATIVE_BALANCE",
                    row.number,
                    Decimal(0),
                    ledger_qty,
                    f"the ledger of LP {row.number} sums to {format_qty(ledger_qty)}",
                    source="ledger",
                )
            )
    strays = [row.id for row in rows if row.stray > 0]
    return problems + await _stray_details(conn, strays)


async def _stray_details(conn: AsyncConnection, lp_ids: list[int]) -> list[dict[str, Any]]:
    """Where the balances of LPs flagged as misplaced really sit (a few LPs, by id)."""
    if not lp_ids:
        return []
    here, there = locations.alias("here"), locations.alias("there")
    own, other = products.alias("own"), products.alias("other")
    balance = func.sum(ledger.c.qty)
    query = (
        select(
            lp.c.number,
            here.c.code.label("expected"),
            there.c.code.label("found"),
            own.c.code.label("product"),
            other.c.code.label("ledger_product"),
            balance.label("balance"),
        )
        .select_from(
            ledger.join(lp, lp.c.id == ledger.c.lp_id)
            .join(here, here.c.id == lp.c.location_id)
            .join(there, there.c.id == ledger.c.location_id)
            .join(own, own.c.id == lp.c.product_id)
            .join(other, other.c.id == ledger.c.product_id)
        )
        .where(ledger.c.lp_id.in_(lp_ids), ledger.c.kind.in_(QTY_KINDS))
        .group_by(
            lp.c.number,
            here.c.code,
            there.c.code,
            own.c.code,
            other.c.code,
            ledger.c.location_id,
            lp.c.location_id,
            ledger.c.product_id,
            lp.c.product_id,
        )
        .having(
            balance != 0,
            or_(ledger.c.location_id != lp.c.location_id, ledger.c.product_id != lp.c.product_id),
        )
        .order_by(lp.c.number, there.c.code)
    )
    problems = []
    for row in await conn.execute(query):
        if row.found != row.expected:
            problems.append(
                _problem(
                    "LOCATION_MISMATCH",
                    row.number,
                    row.expected,
                    row.found,
                    f"LP {row.number} is at {row.expected} but {format_qty(row.balance)} of its "
                    f"ledger balance is at {row.found}",
                    qty=format_qty(row.balance),
                )
            )
        if row.ledger_product != row.product:
            problems.append(
                _problem(
                    "PRODUCT_MISMATCH",
                    row.number,
                    row.product,
                    row.ledger_product,
                    f"LP {row.number} is {row.product} but ledger rows of it book "
                    f"{row.ledger_product}",
                    qty=format_qty(row.balance),
                )
            )
    return problems


async def _status_problems(conn: AsyncConnection, sites: list[str] | None) -> list[dict[str, Any]]:
    """LPs whose status contradicts their qty, and LPs below zero."""
    query = _in_sites(
        select(lp.c.number, lp.c.qty, lp.c.status)
        .where(
            or_(
                lp.c.qty < 0,
                and_(lp.c.status == "consumed", lp.c.qty != 0),
                and_(lp.c.status.in_(HOLDING), lp.c.qty <= 0),
            )
        )
        .order_by(lp.c.number)
        .limit(MAX_PROBLEMS + 1),
        sites,
    )
    problems = []
    for row in await conn.execute(query):
        if row.qty < 0:
            problems.append(
                _problem(
                    "NEGATIVE_BALANCE",
                    row.number,
                    Decimal(0),
                    row.qty,
                    f"LP {row.number} holds {format_qty(row.qty)}",
                    source="lp",
                )
            )
            continue
        expected = "qty 0" if row.status == "consumed" else "qty > 0"
        problems.append(
            _problem(
                "STATUS_MISMATCH",
                row.number,
                expected,
                f"{row.status} with qty {format_qty(row.qty)}",
                f"LP {row.number} is {row.status} but holds {format_qty(row.qty)}",
            )
        )
    return problems


async def _reservation_problems(
    conn: AsyncConnection, sites: list[str] | None
) -> list[dict[str, Any]]:
    """Active reservations on LPs that hold no stock any more (consumed, shipped), and LPs
    whose active reservations add up to more than they hold."""
    query = _in_sites(
        select(reservations.c.id, lp.c.number, lp.c.status)
        .join(lp, lp.c.id == reservations.c.lp_id)
        .where(reservations.c.status == "active", lp.c.status.not_in(HOLDING))
        .order_by(reservations.c.id)
        .limit(MAX_PROBLEMS + 1),
        sites,
    )
    problems = [
        _problem(
            "RESERVATION_MISMATCH",
            row.number,
            "available or on_hold",
            row.status,
            f"reservation {row.id} is active but LP {row.number} is {row.status}",
            reservation=row.id,
        )
        for row in await conn.execute(query)
    ]
    claimed = func.sum(reservations.c.qty)
    over = _in_sites(
        select(lp.c.number, lp.c.qty, claimed.label("reserved"))
        .join(reservations, reservations.c.lp_id == lp.c.id)
        .where(reservations.c.status == "active", lp.c.status.in_(HOLDING))
        .group_by(lp.c.id, lp.c.number, lp.c.qty)
        .having(claimed > lp.c.qty)
        .order_by(lp.c.number)
        .limit(MAX_PROBLEMS + 1),
        sites,
    )
    problems.extend(
        _problem(
            "OVER_RESERVED",
            row.number,
            f"reserved <= {format_qty(row.qty)}",
            row.reserved,
            f"LP {row.number} holds {format_qty(row.qty)} but {format_qty(row.reserved)} of it "
            "is reserved",
        )
        for row in await conn.execute(over)
    )
    return problems


def _problem(
    kind: str, number: str, expected: Any, found: Any, message: str, **extra: Any
) -> dict[str, Any]:
    """One problem; quantities as decimal strings."""

    def text(value: Any) -> Any:
        return format_qty(value) if isinstance(value, Decimal) else value

    return {
        "kind": kind,
        "lp": number,
        "expected": text(expected),
        "found": text(found),
        "message": message,
        **extra,
    }


async def check(conn: AsyncConnection, *, sites: list[str] | None = None) -> CheckReport:
    """Prove LP quantities, places and statuses against the ledger; list what disagrees."""
    started = time.perf_counter()
    lp_count = await conn.execute(_in_sites(select(func.count()).select_from(lp), sites))
    rows_query = select(func.count()).select_from(ledger)
    if sites is not None:
        rows_query = rows_query.where(ledger.c.site.in_(sites))
    counts = CheckCounts(
        lps=int(lp_count.scalar_one()),
        ledger_rows=int((await conn.execute(rows_query)).scalar_one()),
    )
    problems = (
        await _ledger_problems(conn, sites)
        + await _status_problems(conn, sites)
        + await _reservation_problems(conn, sites)
    )
    return CheckReport(
        ok=not problems,
        checked=counts,
        problems=problems[:MAX_PROBLEMS],
        truncated=len(problems) > MAX_PROBLEMS,
        elapsed_ms=round((time.perf_counter() - started) * 1000),
    )


async def check_database(db_url: str, *, sites: list[str] | None = None) -> CheckReport:
    """Run the check on the database at ``db_url``; DatabaseUnavailable when it cannot."""
    url = make_url(db_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).expanduser().is_file():  # connecting would create it
            raise DatabaseUnavailable(f"no database file at {url.database}")
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(ioe_read_only=True)
            return await check(conn, sites=sites)
    except (SQLAlchemyError, OSError) as err:
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise DatabaseUnavailable(f"cannot check the database at {shown}: {reason}") from err
    finally:
        await engine.dispose()

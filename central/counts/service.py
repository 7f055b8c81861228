"""Stock counts over the API: sessions, their lines, the variance report, approval, cancel.

The floor records counts (count.record); nothing touches the ledger until a manager approves
the session. Approval books every difference as ADJUST rows caused by its audit entry (an LP
found here but booked elsewhere is first transferred here), and brings the LPs to what was
counted. LPs unknown to central are never invented: they are reported as needing a receipt.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.apply.context import ApplyContext
from central.clock import now
from central.counts.operations import session_row
from central.db.enums import QTY_KINDS, CountStatus
from central.db.rows import page
from central.db.tables import (
    count_lines,
    count_sessions,
    license_plates,
    locations,
    products,
    stock_moves,
)
from central.errors import ActionConflict, AlreadyExists, InvalidReference, NotFound
from central.production.reservations import fit_reservations
from protocol import ConflictCode
from protocol.ids import new_action_id

CLOSED_LP = ("consumed", "shipped")


@dataclass(frozen=True, slots=True)
class CountSession:
    """A count session at one location, and its approval once approved."""

    id: int
    site: str
    number: str
    location: str
    status: CountStatus
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    approval_cause: str | None


@dataclass(frozen=True, slots=True)
class CountLine:
    """A line as the floor counted it; ``current`` is the one that counts for its LP."""

    lp: str
    qty: Decimal
    operator: str
    counted_at: datetime
    recorded_at: datetime
    action_id: str
    current: bool


@dataclass(frozen=True, slots=True)
class CountDetail(CountSession):
    """A count session with its lines in device-time order."""

    lines: list[CountLine]


@dataclass(frozen=True, slots=True)
class VarianceLine:
    """One LP against the books: expected here, counted, variance, and what approval books."""

    lp: str
    product: str | None
    uom: str | None
    book_location: str | None
    book_status: str | None
    book_qty: Decimal | None
    expected: Decimal
    counted: Decimal
    variance: Decimal
    counted_at: datetime | None
    missing: bool
    unexpected: bool
    unknown: bool
    changed_after_count: bool
    adjustment: Decimal | None


@dataclass(frozen=True, slots=True)
class VarianceTotal:
    """Expected, counted and variance of one product at the session's location."""

    product: str
    uom: str
    expected: Decimal
    counted: Decimal
    variance: Decimal


@dataclass(frozen=True, slots=True)
class Variance:
    """The variance report of a session."""

    session: CountSession
    lines: list[VarianceLine]
    totals: list[VarianceTotal]


@dataclass(frozen=True, slots=True)
class LpQty:
    """An LP and a quantity: what an approval booked on it, or what was counted on it."""

    lp: str
    qty: Decimal


@dataclass(frozen=True, slots=True)
class Skipped:
    """A known LP the approval left alone, and why."""

    lp: str
    reason: str


@dataclass(frozen=True, slots=True)
class Approval:
    """What an approval booked and what it left to people."""

    session: CountSession
    adjusted: list[LpQty]
    transferred: list[str]
    needs_receipt: list[LpQty]
    not_adjusted: list[Skipped]


def _session_fields(row: Any) -> dict[str, Any]:
    """The CountSession fields of a session row (``session_row`` also carries the location's
    id), by column name."""
    return {
        "id": row.id,
        "site": row.site,
        "number": row.number,
        "location": row.location,
        "status": row.status,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "approved_by": row.approved_by,
        "approved_at": row.approved_at,
        "approval_cause": row.approval_cause,
    }


def _count_session(row: Any) -> CountSession:
    """A session row as a CountSession."""
    return CountSession(**_session_fields(row))


async def create_session(
    conn: AsyncConnection, *, caller: Caller, site: str, location: str, number: str | None = None
) -> CountDetail:
    """Open a count session for one location; numbered CNT-<id> unless a number is given."""
    caller.require_site(site)
    location_id = (
        await conn.execute(
            select(locations.c.id).where(locations.c.site == site, locations.c.code == location)
        )
    ).scalar_one_or_none()
    if location_id is None:
        raise InvalidReference(
            f"location {location} does not exist at {site}",
            details={"location": location, "site": site},
        )
    if number is not None and await _taken(conn, site, number):
        raise AlreadyExists(
            f"count {number} already exists at {site}", details={"number": number, "site": site}
        )
    session_id = (
        await conn.execute(
            insert(count_sessions)
            .values(
                site=site,
                number=number or new_action_id(),
                location_id=location_id,
                status="open",
                created_by=caller.name,
                created_at=now(),
            )
            .returning(count_sessions.c.id)
        )
    ).scalar_one()
    if number is None:
        number, n = f"CNT-{session_id}", 1
        while await _taken(conn, site, number):  # someone chose that number by hand
            n += 1
            number = f"CNT-{session_id}-{n}"
        await conn.execute(
            update(count_sessions).where(count_sessions.c.id == session_id).values(number=number)
        )
    await audit.record(
        conn,
        caller=caller,
        action="count.open",
        target=f"count {number}",
        site=site,
        details={"location": location},
    )
    return await get_session(conn, session_id=session_id)


async def _taken(conn: AsyncConnection, site: str, number: str) -> bool:
    """True when a session of the site already has this number."""
    return (
        await conn.execute(
            select(count_sessions.c.id).where(
                count_sessions.c.site == site, count_sessions.c.number == number
            )
        )
    ).first() is not None


async def list_sessions(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    status: str | None = None,
    location: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[CountSession]:
    """Count sessions, newest first, of the given sites (None: all)."""
    limit, offset = page(limit, offset)
    query = (
        select(*count_sessions.c, locations.c.code.label("location"))
        .join(locations, locations.c.id == count_sessions.c.location_id)
        .order_by(count_sessions.c.id.desc())
    )
    if sites is not None:
        query = query.where(count_sessions.c.site.in_(sites))
    for column, value in ((count_sessions.c.status, status), (locations.c.code, location)):
        if value is not None:
            query = query.where(column == value)
    return [_count_session(row) for row in await conn.execute(query.limit(limit).offset(offset))]


async def _session(
    conn: AsyncConnection, session_id: int, caller: Caller | None, *, lock: bool = False
) -> Any:
    """A session the caller may see, or NotFound."""
    row = await session_row(conn, session_id=session_id, lock=lock)
    if row is None or (caller is not None and not caller.sees(row.site)):
        raise NotFound(f"count {session_id} does not exist", details={"id": session_id})
    return row


async def get_session(
    conn: AsyncConnection, *, session_id: int, caller: Caller | None = None
) -> CountDetail:
    """One session with every count line; ``current`` marks the line that counts per LP."""
    session = await _session(conn, session_id, caller)
    rows = (
        await conn.execute(
            select(
                count_lines.c.id,
                count_lines.c.lp_number.label("lp"),
                count_lines.c.qty,
                count_lines.c.operator,
                count_lines.c.counted_at,
                count_lines.c.recorded_at,
                count_lines.c.action_id,
            )
            .where(count_lines.c.session_id == session_id)
            .order_by(count_lines.c.counted_at, count_lines.c.id)
        )
    ).all()
    latest = {row.lp: row.id for row in rows}  # ordered: the last one wins
    lines = [
        CountLine(
            lp=row.lp,
            qty=row.qty,
            operator=row.operator,
            counted_at=row.counted_at,
            recorded_at=row.recorded_at,
            action_id=row.action_id,
            current=latest[row.lp] == row.id,
        )
        for row in rows
    ]
    return CountDetail(**_session_fields(session), lines=lines)


async def _latest_lines(conn: AsyncConnection, session_id: int) -> dict[str, Any]:
    """The line that counts per LP number: latest device time, then latest recorded."""
    rows = await conn.execute(
        select(count_lines)
        .where(count_lines.c.session_id == session_id)
        .order_by(count_lines.c.counted_at, count_lines.c.id)
    )
    return {row.lp_number: row for row in rows}


async def _variance_lines(
    conn: AsyncConnection, session: Any
) -> tuple[list[VarianceLine], datetime]:
    """One line per LP booked at the session's location or counted there, against the books;
    and the time missing LPs count as counted (as absent) at."""
    counted = await _latest_lines(conn, session.id)
    # Missing LPs were "counted" (as absent) when the session's last line was taken.
    count_time = max((line.counted_at for line in counted.values()), default=session.created_at)
    columns = (
        license_plates.c.id,
        license_plates.c.number,
        license_plates.c.qty,
        license_plates.c.uom,
        license_plates.c.status,
        license_plates.c.location_id,
        products.c.code.label("product"),
        locations.c.code.label("location"),
    )
    base = (
        select(*columns)
        .join(products, products.c.id == license_plates.c.product_id)
        .join(locations, locations.c.id == license_plates.c.location_id)
        .where(license_plates.c.site == session.site)
    )
    booked = list(
        await conn.execute(
            base.where(
                license_plates.c.location_id == session.location_id,
                license_plates.c.qty > 0,
                license_plates.c.status.not_in(CLOSED_LP),
            )
        )
    )
    found = list(await conn.execute(base.where(license_plates.c.number.in_(counted))))
    books = {row.number: row for row in booked + found}
    here = {row.number for row in booked}
    activity = dict(
        (
            await conn.execute(
                select(stock_moves.c.lp_id, func.max(stock_moves.c.occurred_at))
                .where(
                    stock_moves.c.lp_id.in_([row.id for row in books.values()]),
                    stock_moves.c.kind.in_(QTY_KINDS),
                )
                .group_by(stock_moves.c.lp_id)
            )
        ).all()
    )
    lines = []
    for number in sorted(set(books) | set(counted)):
        book, line = books.get(number), counted.get(number)
        qty = line.qty if line is not None else Decimal(0)
        at: datetime = line.counted_at if line is not None else count_time
        expected = book.qty if book is not None and number in here else Decimal(0)
        changed, adjustment = False, None
        if book is not None and book.status not in CLOSED_LP:
            # The books moved on after the count (a move, a consumption): latest device time
            # wins, so this count no longer says anything about the LP. Count it again.
            changed = bool(activity.get(book.id) and activity[book.id] > at)
            if not changed:
                adjustment = qty - book.qty
        lines.append(
            VarianceLine(
                lp=number,
                product=book.product if book else None,
                uom=book.uom if book else None,
                book_location=book.location if book else None,
                book_status=book.status if book else None,
                book_qty=book.qty if book else None,
                expected=expected,
                counted=qty,
                variance=qty - expected,
                counted_at=line.counted_at if line else None,
                missing=line is None,
                unexpected=book is not None and number not in here,
                unknown=book is None,
                changed_after_count=changed,
                adjustment=adjustment,
            )
        )
    return lines, count_time


def _totals(lines: list[VarianceLine]) -> list[VarianceTotal]:
    """Expected, counted and variance per product (unknown LPs have no product)."""
    units: dict[str, str] = {}
    sums: dict[str, list[Decimal]] = {}
    for line in lines:
        if line.product is None or line.uom is None:  # both come from the books, or neither
            continue
        units.setdefault(line.product, line.uom)
        total = sums.setdefault(line.product, [Decimal(0), Decimal(0), Decimal(0)])
        total[0] += line.expected
        total[1] += line.counted
        total[2] += line.variance
    return [
        VarianceTotal(
            product=code,
            uom=units[code],
            expected=sums[code][0],
            counted=sums[code][1],
            variance=sums[code][2],
        )
        for code in sorted(sums)
    ]


async def variance(
    conn: AsyncConnection, *, session_id: int, caller: Caller | None = None
) -> Variance:
    """The variance report of a session against the books as they are now."""
    session = await _session(conn, session_id, caller)
    lines, _ = await _variance_lines(conn, session)
    return Variance(session=_count_session(session), lines=lines, totals=_totals(lines))


async def approve(
    ctx: ApplyContext,
    *,
    caller: Caller,
    session_id: int,
) -> Approval:
    """Book the count: ADJUST rows (and transfers here) caused by the approval's audit entry."""
    conn = ctx.conn
    session = await _open_session(conn, session_id, caller)
    entry = await audit.record(
        conn,
        caller=caller,
        action="count.approve",
        target=f"count {session.number}",
        site=session.site,
    )
    lines, count_time = await _variance_lines(conn, session)
    await ctx.load_lps((session.site, line.lp) for line in lines if line.adjustment is not None)
    adjusted: list[LpQty] = []
    transferred: list[str] = []
    needs_receipt: list[LpQty] = []
    skipped: list[Skipped] = []
    for line in lines:
        if line.unknown:
            needs_receipt.append(LpQty(lp=line.lp, qty=line.counted))
            continue
        if line.adjustment is None:
            reason = (
                "changed after it was counted; count it again"
                if line.changed_after_count
                else f"is {line.book_status}"
            )
            skipped.append(Skipped(lp=line.lp, reason=f"LP {line.lp} {reason}"))
            continue
        lp = ctx.lps[(session.site, line.lp)]
        assert lp is not None
        at = line.counted_at if line.counted_at is not None else count_time
        row = {"occurred_at": at, "action_id": entry, "reference": session.number}
        if lp.location_id != session.location_id:
            ctx.ledger(lp=lp, kind="TRANSFER_OUT", qty=-lp.qty, location_id=lp.location_id, **row)
            ctx.ledger(
                lp=lp, kind="TRANSFER_IN", qty=lp.qty, location_id=session.location_id, **row
            )
            lp.location_id = session.location_id
            lp.last_move_at = max(at, lp.last_move_at) if lp.last_move_at else at
            transferred.append(lp.number)
        difference = line.counted - lp.qty
        if difference:
            ctx.ledger(lp=lp, kind="ADJUST", qty=difference, location_id=lp.location_id, **row)
            lp.qty = line.counted
            adjusted.append(LpQty(lp=lp.number, qty=difference))
        if lp.qty == 0:
            lp.status = "consumed"
        if difference < 0:  # less than reserved of it: the newest reservations give way
            await fit_reservations(ctx, lp, action_id=entry, reference=session.number)
        ctx.save_lp(lp)
    await ctx.flush()
    await conn.execute(
        update(count_sessions)
        .where(count_sessions.c.id == session.id)
        .values(
            status="approved",
            approved_by=caller.name,
            approved_at=ctx.recorded_at,
            approval_cause=entry,
        )
    )
    return Approval(
        session=_count_session(await _session(conn, session_id, None)),
        adjusted=adjusted,
        transferred=transferred,
        needs_receipt=needs_receipt,
        not_adjusted=skipped,
    )


async def _open_session(conn: AsyncConnection, session_id: int, caller: Caller) -> Any:
    """The session, locked, for a caller of its site; COUNT_CLOSED (409) unless it is open."""
    session = await _session(conn, session_id, caller, lock=True)
    if session.status != "open":
        raise ActionConflict(
            f"count {session.number} is {session.status}",
            code=ConflictCode.COUNT_CLOSED.value,
            details={"id": session_id, "status": session.status},
        )
    return session


async def cancel(conn: AsyncConnection, *, caller: Caller, session_id: int) -> CountSession:
    """Close a session without booking anything; its lines stay for the record."""
    session = await _open_session(conn, session_id, caller)
    await audit.record(
        conn,
        caller=caller,
        action="count.cancel",
        target=f"count {session.number}",
        site=session.site,
    )
    await conn.execute(
        update(count_sessions).where(count_sessions.c.id == session.id).values(status="cancelled")
    )
    return _count_session(await _session(conn, session_id, None))

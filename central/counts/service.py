"""Stock counts over the API: sessions, their lines, the variance report, cancel.

The floor records counts (count.record); nothing touches the ledger until a manager approves
the session (central/counts/approval.py). The variance report (central/counts/variance.py)
shows per LP what approval will book, or why it will leave the LP alone.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.clock import now
from central.counts.operations import session_row
from central.counts.variance import VarianceLine, VarianceTotal, totals, variance_lines
from central.db.enums import CountScope, CountStatus
from central.db.rows import page
from central.db.tables import count_lines, count_sessions, locations
from central.errors import ActionConflict, AlreadyExists, InvalidReference, NotFound
from protocol import ConflictCode
from protocol.ids import new_action_id


@dataclass(frozen=True, slots=True)
class CountSession:
    """A count session at one location, and its approval once approved."""

    id: int
    site: str
    number: str
    location: str
    scope: CountScope
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
class Variance:
    """The variance report of a session."""

    session: CountSession
    lines: list[VarianceLine]
    totals: list[VarianceTotal]
    uncounted: list[str]


def _session_fields(row: Any) -> dict[str, Any]:
    """The CountSession fields of a session row (``session_row`` also carries the location's
    id), by column name."""
    return {
        "id": row.id,
        "site": row.site,
        "number": row.number,
        "location": row.location,
        "scope": row.scope,
        "status": row.status,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "approved_by": row.approved_by,
        "approved_at": row.approved_at,
        "approval_cause": row.approval_cause,
    }


def count_session(row: Any) -> CountSession:
    """A session row as a CountSession."""
    return CountSession(**_session_fields(row))


async def create_session(
    conn: AsyncConnection,
    *,
    caller: Caller,
    site: str,
    location: str,
    number: str | None = None,
    scope: CountScope = "partial",
) -> CountDetail:
    """Open a count session for one location, a ``full`` or a ``partial`` count; numbered
    CNT-<id> unless a number is given."""
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
                scope=scope,
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
        details={"location": location, "scope": scope},
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
    return [count_session(row) for row in await conn.execute(query.limit(limit).offset(offset))]


async def visible_session(
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
    session = await visible_session(conn, session_id, caller)
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


async def variance(
    conn: AsyncConnection, *, session_id: int, caller: Caller | None = None
) -> Variance:
    """The variance report of a session against the books as they are now."""
    session = await visible_session(conn, session_id, caller)
    found = await variance_lines(conn, session)
    return Variance(
        session=count_session(session),
        lines=found.lines,
        totals=totals(found.lines),
        uncounted=found.uncounted,
    )


async def open_session(conn: AsyncConnection, session_id: int, caller: Caller) -> Any:
    """The session, locked, for a caller of its site; COUNT_CLOSED (409) unless it is open."""
    session = await visible_session(conn, session_id, caller, lock=True)
    if session.status != "open":
        raise ActionConflict(
            f"count {session.number} is {session.status}",
            code=ConflictCode.COUNT_CLOSED.value,
            details={"id": session_id, "status": session.status},
        )
    return session


async def cancel(conn: AsyncConnection, *, caller: Caller, session_id: int) -> CountSession:
    """Close a session without booking anything; its lines stay for the record."""
    session = await open_session(conn, session_id, caller)
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
    return count_session(await visible_session(conn, session_id, None))

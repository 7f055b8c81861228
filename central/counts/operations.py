"""count.record from the floor: LPs counted at a location, appended to an open count session.

Counting never touches the ledger: a session's lines wait for a manager's approval, which
writes the adjustments (services/counts.py). A later count of the same LP supersedes the
earlier one by device time.
"""

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.apply.context import ApplyContext, Origin
from central.apply.outcome import Applied, Operation, conflict
from central.db.tables import count_lines, count_sessions, locations
from protocol import ConflictCode
from protocol.actions import CountRecord


async def session_row(
    conn: AsyncConnection,
    *,
    site: str | None = None,
    number: str | None = None,
    session_id: int | None = None,
    lock: bool = True,
) -> Any:
    """A count session (with its location's code), by id or by (site, number); None if absent.

    Writers lock it (PostgreSQL) so an approval and a late count do not cross.
    """
    query = select(*count_sessions.c, locations.c.code.label("location")).join(
        locations, locations.c.id == count_sessions.c.location_id
    )
    if lock:
        query = query.with_for_update(of=count_sessions)
    if session_id is not None:
        query = query.where(count_sessions.c.id == session_id)
    else:
        query = query.where(count_sessions.c.site == site, count_sessions.c.number == number)
    return (await conn.execute(query)).first()


async def record(ctx: ApplyContext, origin: Origin, body: CountRecord) -> Applied:
    """count.record: count lines for an open session at its location; the ledger waits."""
    session = await session_row(ctx.conn, site=origin.site, number=body.session)
    if session is None:
        raise conflict(
            ConflictCode.COUNT_NOT_FOUND,
            f"Count {body.session} does not exist at site {origin.site}",
        )
    # Not waived by "apply anyway": a line added after approval would disagree with the
    # adjustments already written. Open a new count instead.
    if session.status != "open":
        raise conflict(
            ConflictCode.COUNT_CLOSED,
            f"Count {body.session} is {session.status}; it takes no more counts",
        )
    if body.location != session.location:
        raise conflict(
            ConflictCode.COUNT_WRONG_LOCATION,
            f"Count {body.session} is for location {session.location}, not {body.location}",
        )
    await ctx.conn.execute(
        insert(count_lines),
        [
            {
                "session_id": session.id,
                "lp_number": line.lp,
                "qty": line.qty,
                "action_id": origin.action_id,
                "operator": origin.by,
                "counted_at": origin.occurred_at,
                "recorded_at": ctx.recorded_at,
            }
            for line in body.lps
        ],
    )
    unknown, elsewhere = [], []
    for line in body.lps:
        lp = await ctx.lp(origin.site, line.lp)
        if lp is None:
            unknown.append(line.lp)
        elif lp.location_id != session.location_id:
            elsewhere.append(line.lp)
    message = f"{len(body.lps)} LP(s) counted at {session.location} for {session.number}"
    if elsewhere:
        message += f"; booked at another location: {', '.join(elsewhere)}"
    if unknown:
        message += f"; not known at central (found stock): {', '.join(unknown)}"
    return Applied(message)


ACTIONS: dict[str, Operation] = {
    "count.record": record,
}

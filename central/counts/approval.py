"""Approving a count: the variance report's adjustments booked as ledger rows, by someone else.

Approval books every difference as ADJUST rows caused by its audit entry (an LP found here but
booked elsewhere is first transferred here), and brings the LPs to what was counted; in a full
count, LPs booked here that nobody counted are zeroed. LPs unknown to central are never
invented: they are reported as needing a receipt.

Separation of duties: the approver is neither the one who opened the session nor anyone who
recorded one of its lines (the floor operator, or the supervisor whose conflict resolution
wrote it), unless the approver is an admin.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.apply.context import ApplyContext
from central.apply.event_facts import lp_facts
from central.counts.service import CountSession, count_session, open_session, visible_session
from central.counts.variance import variance_lines
from central.db.tables import audit_log, count_lines, count_sessions
from central.errors import Forbidden
from central.events.types import EventType
from central.inventory.claims import fit_reservations


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
    zeroed: list[str]
    needs_receipt: list[LpQty]
    not_adjusted: list[Skipped]


async def counted_by(conn: AsyncConnection, session_id: int) -> list[str]:
    """Everyone who recorded a line of the session: the operators of its count.record actions,
    and the callers whose conflict resolutions applied one (the line's action id is then that
    resolution's audit entry)."""
    operators = select(count_lines.c.operator).where(count_lines.c.session_id == session_id)
    resolvers = (
        select(audit_log.c.actor)
        .join(count_lines, count_lines.c.action_id == audit_log.c.id)
        .where(count_lines.c.session_id == session_id)
    )
    return sorted(set((await conn.execute(operators.union(resolvers))).scalars()))


async def _refuse_self_approval(conn: AsyncConnection, session: Any, caller: Caller) -> None:
    """COUNT_SELF_APPROVAL (403) when the caller opened the session or counted in it."""
    if caller.is_admin:
        return
    counters = await counted_by(conn, session.id)
    roles = []
    if caller.name == session.created_by:
        roles.append("opened it")
    if caller.name in counters:
        roles.append("recorded lines of it")
    if not roles:
        return
    raise Forbidden(
        f"{caller.name} {' and '.join(roles)}: count {session.number} must be approved by "
        "someone who neither opened it nor counted in it (or an admin)",
        code="COUNT_SELF_APPROVAL",
        details={
            "count": session.number,
            "approver": caller.name,
            "opened_by": session.created_by,
            "counted_by": counters,
        },
    )


async def approve(ctx: ApplyContext, *, caller: Caller, session_id: int) -> Approval:
    """Book the count: ADJUST rows (and transfers here) caused by the approval's audit entry."""
    conn = ctx.conn
    # Locked: a count line arriving now waits, so the check below sees every counter.
    session = await open_session(conn, session_id, caller)
    await _refuse_self_approval(conn, session, caller)
    entry = await audit.record(
        conn,
        caller=caller,
        action="count.approve",
        target=f"count {session.number}",
        site=session.site,
        details={"scope": session.scope},
    )
    found = await variance_lines(conn, session)
    lines = found.lines
    await ctx.load_lps((session.site, line.lp) for line in lines if line.adjustment is not None)
    adjusted: list[LpQty] = []
    transferred: list[str] = []
    zeroed: list[str] = []
    needs_receipt: list[LpQty] = []
    skipped: list[Skipped] = []
    for line in lines:
        if line.unknown:
            needs_receipt.append(LpQty(lp=line.lp, qty=line.counted))
            continue
        if line.adjustment is None:
            skipped.append(Skipped(lp=line.lp, reason=line.reason or f"LP {line.lp} left alone"))
            continue
        lp = ctx.lps[(session.site, line.lp)]
        assert lp is not None
        at = line.counted_at if line.counted_at is not None else found.count_time
        row = {"occurred_at": at, "action_id": entry, "reference": session.number}
        was_qty, was_at = lp.qty, lp.location_id
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
            if line.missing:
                zeroed.append(lp.number)
        if lp.qty == 0:
            lp.status = "consumed"
        if difference < 0:  # less than reserved of it: the newest reservations give way
            await fit_reservations(ctx, lp, action_id=entry, reference=session.number)
        ctx.save_lp(lp)
        if difference or lp.location_id != was_at:
            facts = await lp_facts(ctx, lp)
            ctx.event(
                EventType.LP_ADJUSTED,
                session.site,
                lp.number,
                {
                    **facts,
                    "from_qty": was_qty,
                    "difference": difference,
                    "from": (await ctx.location_by_id(was_at)).code,
                    "reason": "count",
                    "count": session.number,
                    "operator": caller.name,
                },
                cause=entry,
                occurred_at=at,
            )
    changed = sorted({a.lp for a in adjusted} | set(transferred))
    ctx.event(
        EventType.COUNT_APPROVED,
        session.site,
        str(session.id),
        {
            "count_id": session.id,
            "number": session.number,
            "scope": session.scope,
            "adjusted": [{"lp": a.lp, "difference": a.qty} for a in adjusted],
            "transferred": transferred,
            "zeroed": zeroed,
            "needs_receipt": [n.lp for n in needs_receipt],
            "lps": changed,
            "operator": caller.name,
        },
        cause=entry,
    )
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
        session=count_session(await visible_session(conn, session_id, None)),
        adjusted=adjusted,
        transferred=transferred,
        zeroed=zeroed,
        needs_receipt=needs_receipt,
        not_adjusted=skipped,
    )

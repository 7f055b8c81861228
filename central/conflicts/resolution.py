"""Conflict resolution: a supervisor applies a conflicting action anyway, applies it with a
changed body, or voids it.

A resolution is an API call: its audit entry is written first, and the ledger rows it causes
carry ``cause = 'api'`` and that entry's id as ``action_id`` (the original action id stays on
the conflict row and in the audit details). The action runs through the same appliers as on
the floor; "apply" runs them with ``force``, which waives status checks and books shortfalls
as CORRECTION rows, but nothing can apply to an LP, product or location that does not exist.
The appliers report the quality holds a forced action went over: only the quality role may
overrule a hold (separation of duties), and the holds stay active.
"""

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.actions.registry import apply_action, lp_numbers, needs_sscc, wo_numbers
from central.apply.context import ApplyContext
from central.clock import now
from central.conflicts.inbox import Conflict, get_conflict
from central.db.enums import RESOLUTIONS
from central.db.tables import conflicts, stock_moves
from central.errors import ActionConflict, Forbidden, InvalidInput, NotFound
from central.events.types import EventType
from protocol import Envelope, ProtocolError, check_envelope
from protocol.envelope import normalize_body


@dataclass(frozen=True, slots=True)
class Resolved:
    """A resolved conflict, what the action said when it applied, the ledger rows written, and
    the quality holds a forced action went over (they stay active)."""

    conflict: Conflict
    message: str | None
    code: str | None
    stock_moves: list[int]
    over_holds: list[int]


async def _open_conflict(conn: AsyncConnection, conflict_id: int, caller: Caller) -> Any:
    """The conflict row, locked for this transaction; it must be of the caller's site and open."""
    row = (
        await conn.execute(select(conflicts).where(conflicts.c.id == conflict_id).with_for_update())
    ).first()
    if row is None:
        raise NotFound(
            f"conflict {conflict_id} does not exist", details={"conflict_id": conflict_id}
        )
    caller.require_visible(row.site, what="conflict", key=conflict_id, field="conflict_id")
    if row.status != "open":
        raise ActionConflict(
            f"conflict {conflict_id} is already {row.status}; only open conflicts can be resolved",
            code="CONFLICT_NOT_OPEN",
            details={"conflict_id": conflict_id, "status": row.status},
        )
    return row


def _checked_input(resolution: str, body: dict[str, Any] | None) -> None:
    """A known resolution, with a body exactly when it is apply_with_changes."""
    if resolution not in RESOLUTIONS:
        raise InvalidInput(
            f"resolution must be one of {', '.join(RESOLUTIONS)}",
            code="INVALID_RESOLUTION",
            details={"resolution": resolution},
        )
    if resolution == "apply_with_changes" and body is None:
        raise InvalidInput("apply_with_changes needs the changed action body", code="BODY_REQUIRED")
    if resolution != "apply_with_changes" and body is not None:
        raise InvalidInput(
            f"{resolution} takes no body; use apply_with_changes to change the action",
            code="BODY_NOT_ALLOWED",
        )


def _envelope(row: Any, *, entry_id: str, body: dict[str, Any] | None) -> Envelope:
    """The stored envelope under the audit entry's id, with the changed body if one is given.

    Its signature is not checked again: it was verified when the action arrived, and a
    changed body is the supervisor's, authenticated by the API token instead.
    """
    env = check_envelope(json.loads(row.envelope))
    wire = env.body
    if body is not None:
        try:
            wire = normalize_body(env.type, body)
        except ProtocolError as err:
            raise InvalidInput(
                err.message, code="BODY_INVALID", details={"type": env.type}
            ) from err
    return Envelope.model_validate({**env.model_dump(), "id": entry_id, "body": wire})


def _refuse_over_holds(ctx: ApplyContext, caller: Caller, conflict_id: int) -> None:
    """Going over a quality hold is quality's decision: QUALITY_ROLE_REQUIRED (403) for a
    supervisor without that role, raised so the whole transaction rolls back."""
    if not ctx.over_holds or caller.has_role("quality"):
        return
    lps = sorted(ctx.over_holds)
    holds = sorted({hold for ids in ctx.over_holds.values() for hold in ids})
    named = f" (hold {', '.join(map(str, holds))})" if holds else ""
    raise Forbidden(
        f"applying this action anyway goes over the quality hold on LP {', '.join(lps)}{named}; "
        f"only the quality role may do that. {caller.name} can void it, or quality can "
        "release the hold or resolve the conflict",
        code="QUALITY_ROLE_REQUIRED",
        details={
            "conflict_id": conflict_id,
            "holds": holds,
            "lps": lps,
            "needs": ["quality"],
            "has": sorted(caller.roles),
        },
    )


async def _apply(
    ctx: ApplyContext, env: Envelope, *, force: bool, conflict_id: int, caller: Caller
) -> tuple[str, str | None]:
    """Run the action through its applier; RESOLUTION_FAILED when it still cannot apply,
    QUALITY_ROLE_REQUIRED when it went over a quality hold the caller may not overrule."""
    ctx.force = force
    await ctx.load_lps((env.site, n) for n in lp_numbers(env))
    await ctx.load_wos(wo_numbers(env))
    if needs_sscc(env):
        await ctx.reserve_sscc(1, [env.site])
    try:
        applied = await apply_action(ctx, env)
    except ActionConflict as err:
        # Raised so the whole transaction (audit entry included) rolls back: nothing written.
        hint = "void it" if force else "correct the body again, or void it"
        raise ActionConflict(
            f"the action still cannot apply: {err.message}. Use "
            f"apply_with_changes to change it, or {hint}",
            code="RESOLUTION_FAILED",
            details={
                "conflict_id": conflict_id,
                "conflict_code": err.code,
                "conflict_message": err.message,
                "conflict_details": err.details,
            },
        ) from err
    _refuse_over_holds(ctx, caller, conflict_id)
    await ctx.flush()
    return applied.message, applied.code


async def resolve(
    ctx: ApplyContext,
    *,
    conflict_id: int,
    resolution: str,
    reason: str,
    body: dict[str, Any] | None,
    caller: Caller,
) -> Resolved:
    """Resolve an open conflict (apply, apply_with_changes or void), audited, in one transaction.

    Answers the updated conflict, the applier's message and code, and the ledger row ids.
    """
    conn = ctx.conn
    row = await _open_conflict(conn, conflict_id, caller)
    _checked_input(resolution, body)
    entry_id = await audit.record(
        conn,
        caller=caller,
        action="conflict.resolve",
        target=f"conflict/{conflict_id}",
        site=row.site,
        details={
            "conflict_id": conflict_id,
            "action_id": row.action_id,
            "type": row.type,
            "code": row.code,
            "resolution": resolution,
            "reason": reason,
            "body": body,
        },
    )
    message: str | None = f"conflict {conflict_id} voided: the action will not apply"
    code: str | None = None
    changed: dict[str, Any] | None = None
    if resolution != "void":
        env = _envelope(row, entry_id=entry_id, body=body)
        changed = env.body if body is not None else None
        message, code = await _apply(
            ctx, env, force=resolution == "apply", conflict_id=conflict_id, caller=caller
        )
    over_holds = sorted({hold for ids in ctx.over_holds.values() for hold in ids})
    if ctx.over_holds:
        # The holds stay active; the audit entry says which ones this resolution overruled.
        await audit.add_details(
            conn, entry_id, over_holds=over_holds, held_lps=sorted(ctx.over_holds)
        )
    await conn.execute(
        update(conflicts)
        .where(conflicts.c.id == conflict_id)
        .values(
            status="voided" if resolution == "void" else "resolved",
            resolution=resolution,
            resolution_reason=reason,
            resolution_body=json.dumps(changed, sort_keys=True) if changed is not None else None,
            resolved_by=caller.name,
            resolved_at=now(),
            resolution_cause=entry_id,
        )
    )
    ctx.event(
        EventType.CONFLICT_RESOLVED,
        row.site,
        str(conflict_id),
        {
            "conflict_id": conflict_id,
            "action_id": row.action_id,
            "action_type": row.type,
            "edge": row.edge,
            "resolution": resolution,
            "status": "voided" if resolution == "void" else "resolved",
            "reason": reason,
            "result_code": code,
            "operator": caller.name,
        },
        cause=entry_id,
    )
    await ctx.flush()
    moves = (
        (
            await conn.execute(
                select(stock_moves.c.id)
                .where(stock_moves.c.action_id == entry_id)
                .order_by(stock_moves.c.id)
            )
        )
        .scalars()
        .all()
    )
    return Resolved(
        conflict=await get_conflict(conn, conflict_id=conflict_id),
        message=message,
        code=code,
        stock_moves=list(moves),
        over_holds=over_holds,
    )

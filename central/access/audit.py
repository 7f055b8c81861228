"""The audit log: every API write that changes plant state, with who did it.

Its id is a UUIDv7 like a floor action's, so ledger rows caused by an API call (a release's
reservations, a count approval's adjustments, a conflict resolution) point at it the same way
floor rows point at their action.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access.callers import Caller
from central.clock import now
from central.db.rows import as_dict, page
from central.db.tables import audit_log
from protocol.ids import new_action_id


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited API write: who did what to which target, when."""

    id: str
    site: str | None
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    at: datetime


async def record(
    conn: AsyncConnection,
    *,
    caller: Caller,
    action: str,
    target: str,
    site: str | None,
    details: dict[str, Any] | None = None,
) -> str:
    """Write one audit entry in the caller's transaction; answers its id."""
    entry_id = new_action_id()
    await conn.execute(
        insert(audit_log).values(
            id=entry_id,
            site=site,
            actor=caller.name,
            action=action,
            target=target[:128],
            details=details or {},
            at=now(),
        )
    )
    return entry_id


async def add_details(conn: AsyncConnection, entry_id: str, **details: Any) -> None:
    """Add what an audited call learned while it ran (the holds a forced action went over)
    to its entry's details, in the same transaction."""
    found = (
        await conn.execute(select(audit_log.c.details).where(audit_log.c.id == entry_id))
    ).scalar_one()
    await conn.execute(
        update(audit_log)
        .where(audit_log.c.id == entry_id)
        .values(details={**(found or {}), **details})
    )


async def list_entries(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Audit entries, newest first, of the given sites (None: all)."""
    limit, offset = page(limit, offset)
    query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
    if sites is not None:
        query = query.where(audit_log.c.site.in_(sites))
    if action is not None:
        query = query.where(audit_log.c.action == action)
    return [AuditEntry(**as_dict(r)) for r in await conn.execute(query.limit(limit).offset(offset))]

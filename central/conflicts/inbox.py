"""The conflict inbox: valid actions that could not apply, each with its envelope as received.

``sites`` is the caller's site filter (None: every site); a conflict of another site reads as
missing. A batch's conflicts are written together (``record_conflicts``), so an edge replaying
a backlog that now conflicts drains about as fast as one whose actions apply.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.rows import as_dict, page
from central.db.tables import conflicts
from central.errors import ActionConflict, NotFound
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType
from protocol import Envelope


@dataclass(frozen=True, slots=True)
class Conflict:
    """A valid action that could not apply, its envelope as received, and its resolution."""

    id: int
    action_id: str
    site: str
    edge: str
    seq: int
    type: str
    code: str
    message: str
    details: dict[str, Any] | None  # the figures behind the code, when it has any
    envelope: dict[str, Any]  # the stored envelope, exactly as the edge sent it
    status: str
    created_at: datetime
    resolution: str | None
    resolution_reason: str | None
    resolution_body: dict[str, Any] | None  # the changed body of apply_with_changes
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_cause: str | None


def conflict_row(
    env: Envelope, conflict: ActionConflict, *, envelope: str, at: datetime
) -> dict[str, Any]:
    """The inbox row of an action that could not apply; ``envelope`` is its text as received."""
    return {
        "action_id": env.id,
        "site": env.site,
        "edge": env.edge,
        "seq": env.seq,
        "type": env.type,
        "code": conflict.code,
        "message": conflict.message,
        "details": conflict.details or None,
        "envelope": envelope,
        "status": "open",
        "created_at": at,
    }


async def record_conflicts(conn: AsyncConnection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Put a batch's conflicts in the inbox in one multi-row insert; their ids by action id.

    The ids are read back by ``action_id`` (unique) rather than with ``INSERT ... RETURNING``,
    which SQLite cannot batch: it cost one statement per conflict, three times a whole
    applied batch. Each conflict's ``conflict.opened`` event is written with it."""
    if not rows:
        return {}
    await conn.execute(insert(conflicts), rows)
    found = await conn.execute(
        select(conflicts.c.action_id, conflicts.c.id).where(
            conflicts.c.action_id.in_([row["action_id"] for row in rows])
        )
    )
    ids = {row.action_id: row.id for row in found}
    await write_events(conn, (_opened(row, ids[row["action_id"]]) for row in rows))
    return ids


def _opened(row: dict[str, Any], conflict_id: int) -> DomainEvent:
    """The ``conflict.opened`` event of an inbox row just written."""
    return DomainEvent(
        EventType.CONFLICT_OPENED,
        row["site"],
        str(conflict_id),
        {
            "conflict_id": conflict_id,
            "action_id": row["action_id"],
            "action_type": row["type"],
            "edge": row["edge"],
            "seq": row["seq"],
            "code": row["code"],
            "message": row["message"],
            "details": row["details"],
        },
        occurred_at=row["created_at"],
        cause=row["action_id"],
    )


def _conflict(row: Row[*tuple[Any, ...]]) -> Conflict:
    """A conflict row with its stored JSON text (the envelope, a changed body) as objects."""
    fields = as_dict(row)
    fields["envelope"] = json.loads(fields["envelope"])
    body = fields["resolution_body"]
    fields["resolution_body"] = json.loads(body) if body else None
    return Conflict(**fields)


async def list_conflicts(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    status: str | None = None,
    edge: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Conflict]:
    """The conflict inbox, oldest first, each with the full envelope as received."""
    limit, offset = page(limit, offset)
    query: Select[Any] = select(conflicts).order_by(conflicts.c.id)
    if sites is not None:
        query = query.where(conflicts.c.site.in_(sites))
    for column, value in ((conflicts.c.status, status), (conflicts.c.edge, edge)):
        if value is not None:
            query = query.where(column == value)
    return [_conflict(row) for row in await conn.execute(query.limit(limit).offset(offset))]


async def get_conflict(
    conn: AsyncConnection, *, conflict_id: int, sites: list[str] | None = None
) -> Conflict:
    """One conflict with its envelope and resolution, or NotFound."""
    query = select(conflicts).where(conflicts.c.id == conflict_id)
    if sites is not None:
        query = query.where(conflicts.c.site.in_(sites))
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(
            f"conflict {conflict_id} does not exist", details={"conflict_id": conflict_id}
        )
    return _conflict(row)

"""The conflict inbox: valid actions that could not apply, each with its envelope as received.

``sites`` is the caller's site filter (None: every site); a conflict of another site reads as
missing.
"""

import json
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.rows import as_dict, page
from central.db.tables import conflicts
from central.errors import NotFound


def _conflict_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored JSON text (the envelope, a changed body) as objects."""
    for row in rows:
        row["envelope"] = json.loads(row["envelope"])
        body = row.get("resolution_body")
        row["resolution_body"] = json.loads(body) if body else None
    return rows


async def list_conflicts(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    status: str | None = None,
    edge: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The conflict inbox, oldest first, each with the full envelope as received."""
    limit, offset = page(limit, offset)
    query: Select[Any] = select(conflicts).order_by(conflicts.c.id)
    if sites is not None:
        query = query.where(conflicts.c.site.in_(sites))
    for column, value in ((conflicts.c.status, status), (conflicts.c.edge, edge)):
        if value is not None:
            query = query.where(column == value)
    return _conflict_rows(
        [as_dict(row) for row in await conn.execute(query.limit(limit).offset(offset))]
    )


async def get_conflict(
    conn: AsyncConnection, *, conflict_id: int, sites: list[str] | None = None
) -> dict[str, Any]:
    """One conflict with its envelope and resolution, or NotFound."""
    query = select(conflicts).where(conflicts.c.id == conflict_id)
    if sites is not None:
        query = query.where(conflicts.c.site.in_(sites))
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(
            f"conflict {conflict_id} does not exist", details={"conflict_id": conflict_id}
        )
    return _conflict_rows([as_dict(row)])[0]

"""Reading security events for the API and the command line."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.rows import as_dict, page
from central.db.tables import security_events


@dataclass(frozen=True, slots=True)
class SecurityEventRow:
    """One aggregated event: what, from where, about what, how often, when first and last."""

    kind: str
    source: str
    site: str | None
    edge: str | None
    subject: str | None
    count: int
    first_seen: datetime
    last_seen: datetime
    detail: str


_LISTED = tuple(security_events.c[name] for name in SecurityEventRow.__slots__)


async def list_events(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    kind: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[SecurityEventRow]:
    """Events seen last first; ``sites`` None means every event (those about no site too),
    a list only the events about those sites."""
    limit, offset = page(limit, offset)
    table = security_events.c
    query = select(*_LISTED).order_by(table.last_seen.desc(), table.id.desc())
    if sites is not None:
        query = query.where(table.site.in_(sites))
    if kind is not None:
        query = query.where(table.kind == kind)
    if source is not None:
        query = query.where(table.source == source)
    if since is not None:
        query = query.where(table.last_seen >= since)
    rows = await conn.execute(query.limit(limit).offset(offset))
    return [SecurityEventRow(**as_dict(row)) for row in rows]

"""Reading security events and refused envelopes for the API and the command line."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.rows import as_dict, page
from central.db.tables import rejected_actions, security_events

# A refused envelope is kept up to 64 KiB; a list shows its start, enough for the fields an
# envelope begins with, so a page of a thousand stays a few MB.
RAW_SHOWN_CHARS = 2048


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


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """One refused envelope or message as listed: what could be read of it, why it was
    refused, how often and when, and the start of its text (``raw_chars`` long in full)."""

    id: int
    action_id: str | None
    site: str | None
    edge: str | None
    seq: int | None
    code: str
    message: str
    raw: str
    raw_chars: int
    via: str
    received_at: datetime
    count: int
    last_seen: datetime


async def list_rejected(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    edge: str | None = None,
    code: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[RejectedRow]:
    """Refusals seen last first; ``sites`` None means every refusal (those naming no site
    too), a list only those naming one of the sites. ``raw`` is cut to RAW_SHOWN_CHARS in
    the database, so a page never reads the whole kept text."""
    limit, offset = page(limit, offset)
    table = rejected_actions.c
    query = select(
        *(table[name] for name in RejectedRow.__slots__ if name not in ("raw", "raw_chars")),
        func.substr(table.raw, 1, RAW_SHOWN_CHARS).label("raw"),
        func.length(table.raw).label("raw_chars"),
    ).order_by(table.last_seen.desc(), table.id.desc())
    if sites is not None:
        query = query.where(table.site.in_(sites))
    if edge is not None:
        query = query.where(table.edge == edge)
    if code is not None:
        query = query.where(table.code == code)
    if since is not None:
        query = query.where(table.last_seen >= since)
    rows = await conn.execute(query.limit(limit).offset(offset))
    return [RejectedRow(**as_dict(row)) for row in rows]

"""Reading numbered events from the outbox: by id, by type and by site."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import outbox_events
from central.db.types import as_utc

_COLUMNS = (
    outbox_events.c.event_id,
    outbox_events.c.type,
    outbox_events.c.site,
    outbox_events.c.subject,
    outbox_events.c.occurred_at,
    outbox_events.c.recorded_at,
    outbox_events.c.cause,
    outbox_events.c.payload,
)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One numbered event as readers see it."""

    id: int
    type: str
    site: str | None
    subject: str
    occurred_at: datetime
    recorded_at: datetime
    cause: str | None
    payload: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The public shape of an event (SSE data, webhook body, history item)."""
        return {
            "id": self.id,
            "type": self.type,
            "site": self.site,
            "subject": self.subject,
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "cause": self.cause,
            "payload": self.payload,
        }


def _event(row: Any) -> StoredEvent:
    return StoredEvent(
        id=row.event_id,
        type=row.type,
        site=row.site,
        subject=row.subject,
        occurred_at=as_utc(row.occurred_at),
        recorded_at=as_utc(row.recorded_at),
        cause=row.cause,
        payload=row.payload or {},
    )


async def events_after(
    conn: AsyncConnection,
    after: int,
    *,
    types: Collection[str] | None = None,
    sites: Collection[str] | None = None,
    limit: int = 500,
    upto: int | None = None,
) -> list[StoredEvent]:
    """Numbered events with id > ``after`` (and <= ``upto``), oldest first. ``types``/``sites``
    None: all; with ``sites`` given, events of no site are left out."""
    query = (
        select(*_COLUMNS)
        .where(outbox_events.c.event_id > after)
        .order_by(outbox_events.c.event_id)
        .limit(limit)
    )
    if upto is not None:
        query = query.where(outbox_events.c.event_id <= upto)
    if types is not None:
        query = query.where(outbox_events.c.type.in_(list(types)))
    if sites is not None:
        query = query.where(outbox_events.c.site.in_(list(sites)))
    return [_event(row) for row in await conn.execute(query)]


async def events_before(
    conn: AsyncConnection,
    before: int | None,
    *,
    types: Collection[str] | None = None,
    sites: Collection[str] | None = None,
    subject: str | None = None,
    limit: int = 100,
) -> list[StoredEvent]:
    """Numbered events with id < ``before`` (None: the newest), newest first: paging back;
    ``subject``: only the events of that LP, order, ... number."""
    query = (
        select(*_COLUMNS)
        .where(outbox_events.c.event_id.is_not(None))
        .order_by(outbox_events.c.event_id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(outbox_events.c.event_id < before)
    if types is not None:
        query = query.where(outbox_events.c.type.in_(list(types)))
    if sites is not None:
        query = query.where(outbox_events.c.site.in_(list(sites)))
    if subject is not None:
        query = query.where(outbox_events.c.subject == subject)
    return [_event(row) for row in await conn.execute(query)]


async def last_event_id(conn: AsyncConnection) -> int:
    """The highest numbered event id (0 when there is none)."""
    return int(await conn.scalar(select(func.max(outbox_events.c.event_id))) or 0)


async def first_event_id(conn: AsyncConnection) -> int | None:
    """The oldest numbered event still kept (None when there is none): a resume from before
    it has missed events that retention removed."""
    found = await conn.scalar(select(func.min(outbox_events.c.event_id)))
    return None if found is None else int(found)

"""Reading numbered events from the outbox: by id, by type, by site and by subject.

An outbox row holds the events of one write, numbered ``first_id`` .. ``last_id``; readers
see single events, in id order, and never a row that is not numbered yet.
"""

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import outbox_events
from central.db.types import as_utc

ROWS_PER_READ = 50  # outbox rows a read takes at once (a floor batch's row holds ~200 events)
# Events paging back looks at before it answers with what it found so far (a filter that
# matches rarely must not read the whole retention in one call; ``reached`` says where it was).
HISTORY_SCAN = 50_000

_COLUMNS = (
    outbox_events.c.first_id,
    outbox_events.c.last_id,
    outbox_events.c.recorded_at,
    outbox_events.c.events,
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


@dataclass(frozen=True, slots=True)
class _Filter:
    types: frozenset[str] | None
    sites: frozenset[str] | None
    subject: str | None

    def __call__(self, item: dict[str, Any]) -> bool:
        if self.types is not None and item["type"] not in self.types:
            return False
        if self.sites is not None and item["site"] not in self.sites:
            return False
        return self.subject is None or item["subject"] == self.subject


def _filter(
    types: Collection[str] | None, sites: Collection[str] | None, subject: str | None = None
) -> _Filter:
    return _Filter(
        None if types is None else frozenset(types),
        None if sites is None else frozenset(sites),
        subject,
    )


def _events(row: Any, ids: range, keep: _Filter) -> Iterator[StoredEvent]:
    """The row's events whose ids are in ``ids`` and that ``keep`` wants, in ``ids`` order."""
    first = int(row.first_id)
    items = row.events
    recorded_at = as_utc(row.recorded_at)
    for event_id in ids:
        item = items[event_id - first]
        if keep(item):
            yield StoredEvent(
                id=event_id,
                type=item["type"],
                site=item["site"],
                subject=item["subject"],
                occurred_at=as_utc(datetime.fromisoformat(item["occurred_at"])),
                recorded_at=recorded_at,
                cause=item["cause"],
                payload=item["payload"] or {},
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
    """Numbered events with id > ``after`` (and <= ``upto``), oldest first, at most ``limit``.
    ``types``/``sites`` None: all; with ``sites`` given, events of no site are left out."""
    keep = _filter(types, sites)
    found: list[StoredEvent] = []
    position = after
    while len(found) < limit:
        query = (
            select(*_COLUMNS)
            .where(outbox_events.c.last_id > position)
            .order_by(outbox_events.c.last_id)
            .limit(ROWS_PER_READ)
        )
        if upto is not None:
            query = query.where(outbox_events.c.first_id <= upto)
        rows = (await conn.execute(query)).all()
        for row in rows:
            last = int(row.last_id) if upto is None else min(int(row.last_id), upto)
            for event in _events(row, range(max(int(row.first_id), position + 1), last + 1), keep):
                found.append(event)
                if len(found) == limit:
                    return found
            position = last
        if len(rows) < ROWS_PER_READ:
            break
    return found


async def events_before(
    conn: AsyncConnection,
    before: int | None,
    *,
    types: Collection[str] | None = None,
    sites: Collection[str] | None = None,
    subject: str | None = None,
    limit: int = 100,
    scan: int = HISTORY_SCAN,
) -> tuple[list[StoredEvent], int | None]:
    """Numbered events with id < ``before`` (None: the newest), newest first: paging back;
    ``subject``: only the events of that LP, order, ... number. Answers them and, when it
    stopped after looking at ``scan`` events without filling ``limit``, the id to page on
    from (None: it looked back to the oldest kept event)."""
    keep = _filter(types, sites, subject)
    found: list[StoredEvent] = []
    position = before  # exclusive
    scanned = 0
    while True:
        query = (
            select(*_COLUMNS)
            .where(outbox_events.c.first_id.is_not(None))
            .order_by(outbox_events.c.first_id.desc())
            .limit(ROWS_PER_READ)
        )
        if position is not None:
            query = query.where(outbox_events.c.first_id < position)
        rows = (await conn.execute(query)).all()
        for row in rows:
            top = int(row.last_id) if position is None else min(int(row.last_id), position - 1)
            ids = range(top, int(row.first_id) - 1, -1)
            for event in _events(row, ids, keep):
                found.append(event)
                if len(found) == limit:
                    return found, None
            scanned += len(ids)
            position = int(row.first_id)
            if scanned >= scan:
                return found, position
        if len(rows) < ROWS_PER_READ:
            return found, None


async def last_event_id(conn: AsyncConnection) -> int:
    """The highest numbered event id (0 when there is none)."""
    return int(await conn.scalar(select(func.max(outbox_events.c.last_id))) or 0)


async def first_event_id(conn: AsyncConnection) -> int | None:
    """The oldest numbered event still kept (None when there is none): a resume from before
    it has missed events that retention removed."""
    found = await conn.scalar(select(func.min(outbox_events.c.first_id)))
    return None if found is None else int(found)


async def stored_events(conn: AsyncConnection) -> list[tuple[int | None, dict[str, Any]]]:
    """Every event the outbox holds, numbered or not (a transaction's own, before commit on
    PostgreSQL), in the order written: (id or None, its stored form: type, site, subject,
    occurred_at, cause, payload). For checks and tools, not for delivering."""
    rows = await conn.execute(
        select(outbox_events.c.first_id, outbox_events.c.events).order_by(outbox_events.c.row_id)
    )
    return [
        (None if row.first_id is None else int(row.first_id) + i, item)
        for row in rows
        for i, item in enumerate(row.events)
    ]

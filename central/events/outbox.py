"""Writing domain events into the outbox, in the transaction of the change they tell of.

A change and its event commit together or not at all: there is no window in which central has
changed and the world cannot hear of it, nor an event of a change that rolled back. The floor's
apply path buffers its events in the ``ApplyContext`` and writes them with the batch's other
rows; the API's services call ``write_events`` on their own connection.

One write is one outbox row holding its events in order: a floor batch of 200 receipts adds
one row, not 200, and numbering it after commit rewrites one row, not 200. That keeps the
outbox's cost on the replay drain within a few per cent (docs/benchmarks.md). Events get
their public ids when numbered (central/events/sequencer.py): on SQLite at the insert, on
PostgreSQL after commit.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.clock import now
from central.db.tables import outbox_events
from central.events.signal import mark_written
from central.events.types import EventType
from protocol.types import format_qty


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """One event to write: what happened (``type``) to what (``subject``), where and when."""

    type: EventType
    site: str | None
    subject: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None  # None: when it is written
    cause: str | None = None  # the floor action's or audit entry's id

    def stored(self, recorded_at: datetime) -> dict[str, Any]:
        """This event as its outbox row keeps it (central/events/reading.py reads it back)."""
        return {
            "type": self.type.value,
            "site": self.site,
            "subject": self.subject[:128],
            "occurred_at": (self.occurred_at or recorded_at).isoformat(),
            "cause": self.cause,
            "payload": _jsonable(self.payload),
        }


async def write_events(conn: AsyncConnection, events: Iterable[DomainEvent]) -> int:
    """Write events in the caller's transaction (one row); answers how many.

    Nothing is written when the engine was made with the outbox off (``IOE_OUTBOX=0``).
    """
    if _outbox_off(conn):
        return 0
    at = now()
    stored = [event.stored(at) for event in events]
    if not stored:
        return 0
    row: dict[str, Any] = {"count": len(stored), "recorded_at": at, "events": stored}
    if _numbered_at_insert(conn):
        top = await conn.scalar(select(func.max(outbox_events.c.last_id))) or 0
        row.update(first_id=top + 1, last_id=top + len(stored))
    await conn.execute(insert(outbox_events).values(**row))
    await mark_written(conn)
    return len(stored)


def outbox_on(conn: AsyncConnection) -> bool:
    """False on an engine made with ``outbox=False``: its transactions write no events, so
    the apply path need not build them."""
    return not _outbox_off(conn)


def _numbered_at_insert(conn: AsyncConnection) -> bool:
    """True on SQLite in a writing transaction: it holds the database's one write lock from
    its BEGIN IMMEDIATE to its commit (central/db/engine.py), so the ids it takes after the
    highest one so far commit in that order. Numbering there costs one indexed read instead
    of a second write after commit; PostgreSQL's writers commit in any order, and
    the sequencer numbers theirs (central/events/sequencer.py)."""
    sync = conn.sync_connection
    return (
        conn.dialect.name == "sqlite"
        and sync is not None
        and not sync.get_execution_options().get("ioe_read_only", False)
    )


def _outbox_off(conn: AsyncConnection) -> bool:
    """True on an engine made with ``outbox=False``."""
    sync = conn.sync_connection
    return sync is not None and sync.get_execution_options().get("ioe_outbox") is False


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    """Payload values as JSON can hold them: Decimals (canonical quantity text) and dates as
    strings, the rest as is. Plain values are taken without a call each: a floor batch
    writes 200 payloads of a dozen values."""
    if type(value) is dict:
        return {
            k if type(k) is str else str(k): v if type(v) in _PLAIN else _jsonable(v)
            for k, v in value.items()
        }
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_qty(value)  # as the protocol writes quantities: "12.5", never "1.25E+1"
    return str(value)  # date, enums

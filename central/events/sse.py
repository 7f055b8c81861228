"""The server-sent event stream of one client: its backlog, a gap notice, then live events.

Each message is ``id: <event id>``, ``event: <type>``, ``data: <the event as JSON>``, so a
browser's ``EventSource`` resumes by itself with ``Last-Event-ID``. A client that asks to
resume from before the oldest event still kept (retention removed the ones between), or from
past the newest, first gets an ``event: gap`` telling it where the stream goes on from: it
has missed events and must read current state again. Between events a comment line every
``keepalive`` seconds keeps proxies from closing an idle connection.
"""

import logging
from collections.abc import AsyncIterator

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from central.events.feed import EventFeed
from central.events.reading import first_event_id, last_event_id
from central.events.selection import Selection
from central.events.sse_wire import GAP, KEEPALIVE, message

log = logging.getLogger(__name__)

RETRY_MS = 3000  # how long EventSource waits before it reconnects


async def resume_point(engine: AsyncEngine, after: int) -> tuple[int, bytes | None]:
    """Where a stream resuming after ``after`` goes on from, and the gap message to send
    first when events between were removed (or ``after`` is past the newest event)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(ioe_read_only=True)
        first = await first_event_id(conn)
        newest = await last_event_id(conn)
    if first is not None and first > after + 1:
        gap = {"after": after, "first_kept": first, "reason": "retention"}
        return first - 1, message(first - 1, GAP, gap)
    if after > newest:
        gap = {"after": after, "newest": newest, "reason": "unknown_id"}
        return newest, message(newest, GAP, gap)
    return after, None


async def event_stream(
    feed: EventFeed, selection: Selection, after: int | None, *, keepalive: float
) -> AsyncIterator[bytes]:
    """A client's stream: events after ``after`` (None: from now on), then live ones. A
    database outage ends it cleanly: the client reconnects with the last id it had."""
    yield f"retry: {RETRY_MS}\n\n".encode()
    try:
        async for chunk in _events(feed, selection, after, keepalive=keepalive):
            yield chunk
    except SQLAlchemyError as err:
        log.warning("event stream ended by a database error: %s", err)


async def _events(
    feed: EventFeed, selection: Selection, after: int | None, *, keepalive: float
) -> AsyncIterator[bytes]:
    if after is None:
        after = feed.position
    else:
        after, gap = await resume_point(feed.engine, after)
        if gap is not None:
            yield gap
    while True:
        seen = feed.changed.generation
        messages, reached = await feed.read_after(after, selection)
        if messages:
            yield b"".join(messages)
        if reached > after:
            after = reached
            continue
        if not await feed.changed.wait(keepalive, seen=seen):
            yield KEEPALIVE

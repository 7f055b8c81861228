"""One tail of the outbox per central process, shared by every server-sent event stream.

However many clients stream, the process reads each new event from the database once: the
tail wakes on the engine's commit ``Pulse`` (or its slow poll), numbers what has committed
(so streams work in a process whose relay does not run; when the relay got there first this
is one cheap read), reads the new events, keeps the latest few in memory and wakes the
streams. A stream that resumes from further back reads its own backlog from the database,
then follows the tail. The tail runs only while a stream is open: an idle central without
clients costs nothing, and one with clients one query per wake and per slow poll.
"""

import asyncio
import contextlib
import itertools
import logging
from collections import deque

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from central.events.reading import StoredEvent, events_after, last_event_id
from central.events.selection import Selection
from central.events.sequencer import sequence_pending
from central.events.signal import Pulse, commit_pulse, listen
from central.events.sse_wire import event_message
from central.settings import CentralSettings
from runtime.cancelling import stopping

log = logging.getLogger(__name__)

RECENT = 4096  # events kept in memory: streams a little behind read them without a query
BATCH = 1000


class TooManyStreams(Exception):
    """Every stream slot (``sse_max_streams``) is taken."""


class EventFeed:
    """The process's tail of numbered events; ``position`` is the newest one read."""

    def __init__(self, engine: AsyncEngine, settings: CentralSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.pulse: Pulse = commit_pulse(engine)
        self.changed = Pulse()  # fired when ``position`` moves on
        self.position = 0
        self.streams = 0
        # The newest events, each with its SSE message: encoded once, sent by every stream.
        self._recent: deque[tuple[StoredEvent, bytes]] = deque(maxlen=RECENT)
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()

    async def open_stream(self) -> None:
        """Take a stream slot (TooManyStreams when none is free); the tail runs while any
        slot is taken. Every ``open_stream`` is paired with a ``close_stream``."""
        if self.streams >= self.settings.sse_max_streams:
            raise TooManyStreams
        self.streams += 1
        try:
            async with self._starting:
                if self._task is None:
                    await self._start()  # position known before the first stream reads it
                    self._task = asyncio.create_task(self._tail(), name="event-feed")
                    if not self.settings.relay:  # no relay listening: hear other replicas
                        self._listener = asyncio.create_task(
                            listen(self.settings.db_url, self.pulse), name="event-feed-listener"
                        )
        except BaseException:
            await self.close_stream()
            raise

    async def close_stream(self) -> None:
        """Give a slot back; the last one stops the tail."""
        self.streams -= 1
        if self.streams == 0:
            await self.close()

    async def close(self) -> None:
        """Stop the tail (the last stream ended, or the app stops). A stream opening
        meanwhile starts a new one."""
        tasks = [t for t in (self._task, self._listener) if t is not None]
        self._task = self._listener = None
        self._recent.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _start(self) -> None:
        """Begin at the newest event: streams read anything older from the database."""
        while await sequence_pending(self.engine):
            pass
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(ioe_read_only=True)
            self.position = await last_event_id(conn)

    async def _tail(self) -> None:
        while True:
            seen = self.pulse.generation
            try:
                await self._step()
            except SQLAlchemyError as err:  # the database is away: streams wait, then resume
                stopping(err)  # or a stop cut a statement short: that is a stop, not an outage
                log.warning("event feed: %s; trying again", err)
            await self.pulse.wait(self.settings.sse_poll_seconds, seen=seen)

    async def _step(self) -> None:
        """Number what committed, then read every event after ``position``."""
        while await sequence_pending(self.engine):
            pass
        while True:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(ioe_read_only=True)
                batch = await events_after(conn, self.position, limit=BATCH)
            if not batch:
                return
            self._recent.extend((e, event_message(e)) for e in batch)
            self.position = batch[-1].id
            self.changed.notify()
            if len(batch) < BATCH:
                return

    async def read_after(self, after: int, selection: Selection) -> tuple[list[bytes], int]:
        """The SSE messages of the selected events after ``after`` up to ``position`` (at
        most BATCH of them), and the id read up to: from memory when it reaches back that
        far, else from the database."""
        top = self.position
        if top <= after:
            return [], after
        recent = self._recent
        if recent and recent[0][0].id <= after + 1:
            # Ids are gapless: the first event after ``after`` sits at this index.
            start = min(after + 1 - recent[0][0].id, len(recent))
            while start > 0 and recent[start - 1][0].id > after:
                start -= 1
            chosen = [
                encoded
                for e, encoded in itertools.islice(recent, start, None)
                if after < e.id <= top and selection.matches(e)
            ]
            return chosen, top
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(ioe_read_only=True)
            found = await events_after(
                conn,
                after,
                types=selection.types,
                sites=selection.sites,
                limit=BATCH,
                upto=top,
            )
        reached = found[-1].id if len(found) == BATCH else top
        return [event_message(e) for e in found], reached

"""Waking the readers of the outbox when a transaction that wrote events commits.

No busy polling: a connection that wrote events is marked, and when it goes back to the pool
after its commit the engine's ``Pulse`` wakes every waiter in this process; a rollback clears
the mark. On PostgreSQL the same transaction also sends ``NOTIFY ioe_events``, delivered at
commit to every replica listening (``listen``), so a relay in another process wakes too.
Waiters always fall back to a slow poll: a lost wake costs latency, never an event.
"""

import asyncio
import contextlib
import logging
import weakref
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

CHANNEL = "ioe_events"
_WRITTEN = "ioe_events_written"
_pulses: "weakref.WeakKeyDictionary[Engine, Pulse]" = weakref.WeakKeyDictionary()


class Pulse:
    """A broadcast wake: ``notify`` wakes every current waiter; a waiter that was not waiting
    when it fired sees it at its next ``wait`` (the generation moved on)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.generation = 0

    def notify(self) -> None:
        """Wake everyone waiting now (called on the event loop's thread)."""
        self.generation += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float, *, seen: int | None = None) -> bool:
        """Wait for a notify after generation ``seen`` (default: now); True when woken,
        False when the timeout passed first."""
        if seen is not None and self.generation != seen:
            return True
        current = self._event
        try:
            # Not wait_for: on Python 3.11 it can swallow a cancellation that arrives as the
            # event is set (a stream's client leaving), and the waiter would never end.
            async with asyncio.timeout(timeout):
                await current.wait()
        except TimeoutError:
            return False
        return True


def commit_pulse(engine: AsyncEngine) -> Pulse:
    """The engine's pulse, fired after each commit of a transaction that wrote events."""
    sync_engine = engine.sync_engine
    pulse = _pulses.get(sync_engine)
    if pulse is not None:
        return pulse
    pulse = _pulses[sync_engine] = Pulse()

    def rolled_back(conn: Any) -> None:
        # A connection a cancel cut off is invalidated: its info is gone, and so is the mark.
        with contextlib.suppress(Exception):
            conn.info.pop(_WRITTEN, None)

    def checked_in(dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_WRITTEN, None):
            pulse.notify()

    event.listen(sync_engine, "rollback", rolled_back)
    event.listen(sync_engine, "checkin", checked_in)
    return pulse


async def mark_written(conn: AsyncConnection) -> None:
    """Note that this transaction wrote to the outbox: wake readers when it commits."""
    # The mark lives on the pooled connection: the engine's pulse clears it at check-in (and
    # on rollback). Without them, an engine that never made its pulse (a second replica's
    # writer, a tool) would keep the mark and send NOTIFY only once per pooled connection.
    commit_pulse(conn.engine)
    info = conn.info
    if info.get(_WRITTEN):
        return
    info[_WRITTEN] = True
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"NOTIFY {CHANNEL}"))


async def listen(url: str, pulse: Pulse, *, retry_seconds: float = 5.0) -> None:
    """Fire ``pulse`` on every ``NOTIFY ioe_events`` from any replica (PostgreSQL only);
    reconnects after a lost connection. Runs until cancelled; returns at once on SQLite."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    import asyncpg  # type: ignore[import-untyped]

    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        conn = None
        try:
            conn = await asyncpg.connect(dsn)
            lost = asyncio.Event()
            conn.add_termination_listener(lambda *_, gone=lost: gone.set())
            await conn.add_listener(CHANNEL, lambda *_: pulse.notify())
            pulse.notify()  # anything written while not listening is read now
            await lost.wait()
        except (OSError, asyncpg.PostgresError) as err:
            log.warning("event listener: %s; again in %.0f s", err, retry_seconds)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
        await asyncio.sleep(retry_seconds)

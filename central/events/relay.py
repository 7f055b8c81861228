"""The relay: numbers committed events and hands them to the consumers, in every replica.

It sleeps until a commit that wrote events wakes it (``Pulse``; on PostgreSQL also other
replicas' ``NOTIFY``), or until its slow poll comes round. Each pass numbers what has
committed (central/events/sequencer.py), then takes each consumer's lease and feeds it until
it has caught up (central/events/consumers.py), then, now and then, drops events older than
the retention that every consumer has passed.
"""

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from central.clock import now
from central.db.tables import event_consumers, outbox_events
from central.events.consumers import Claim, Consumer, LeaseLost, claim, consume, release
from central.events.sequencer import sequence_pending
from central.events.signal import Pulse, commit_pulse, listen
from central.settings import CentralSettings
from runtime.cancelling import stopping

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 60.0
MAX_STEPS = 50  # consumer steps per pass, so one busy consumer cannot starve the others


class EventRelay:
    """One per central process; several processes share the work through leases."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: CentralSettings,
        consumers: list[Consumer] | None = None,
        *,
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.consumers: list[Consumer] = list(consumers or [])
        self.owner = owner or f"relay-{uuid.uuid4().hex[:12]}"
        self.pulse: Pulse = commit_pulse(engine)
        self._last_prune = 0.0
        self._held: set[str] = set()
        self._claims: dict[str, Claim] = {}

    def add(self, consumer: Consumer) -> None:
        """Feed one more consumer (before ``run``, or between passes)."""
        self.consumers.append(consumer)

    async def run(self) -> None:
        """Pass after pass until cancelled; gives back its leases when it stops."""
        listener = asyncio.create_task(
            listen(self.settings.db_url, self.pulse), name="event-listener"
        )
        try:
            clock = asyncio.get_running_loop().time
            while True:
                stopping()
                seen = self.pulse.generation
                started = clock()
                try:
                    await self.pass_once()
                except Exception as err:  # a database outage: log, wait, try again
                    stopping(err)
                    log.exception("event relay pass failed; trying again")
                await self.pulse.wait(self.settings.relay_poll_seconds, seen=seen)
                # Woken again at once (a drain commits batch after batch): gather the commits
                # of a short while into the next pass instead of one pass per commit.
                rest = self.settings.relay_batch_seconds - (clock() - started)
                if rest > 0:
                    await asyncio.sleep(rest)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            with contextlib.suppress(Exception):
                await asyncio.shield(release(self.engine, self._held, self.owner))

    async def pass_once(self) -> int:
        """Number what committed, then feed every consumer; answers the events handed over."""
        while await sequence_pending(self.engine):
            pass
        handed = 0
        for consumer in self.consumers:
            handed += await self._feed(consumer)
        loop_time = asyncio.get_running_loop().time()
        if loop_time - self._last_prune >= PRUNE_EVERY_SECONDS:
            self._last_prune = loop_time
            await self.prune()
        return handed

    async def _feed(self, consumer: Consumer) -> int:
        lease = self.settings.relay_lease_seconds
        claimed = self._claims.get(consumer.name)
        if claimed is None or not claimed.fresh(lease):  # renewed at half time, not each pass
            claimed = await claim(self.engine, consumer.name, self.owner, lease)
        if claimed is None:
            self._held.discard(consumer.name)
            self._claims.pop(consumer.name, None)
            return 0
        self._held.add(consumer.name)
        self._claims[consumer.name] = claimed
        handed = 0
        try:
            for _ in range(MAX_STEPS):
                step = await consume(self.engine, consumer, claimed, self.owner, lease)
                if step == 0:
                    break
                handed += step
        except LeaseLost:
            log.warning("lease of %s lost to another relay", consumer.name)
            self._held.discard(consumer.name)
            self._claims.pop(consumer.name, None)
        except Exception as err:  # its step rolled back; the others are still fed
            stopping(err)
            log.warning("%s: step not done, handed over again later: %s", consumer.name, err)
        return handed

    async def prune(self) -> int:
        """Drop outbox rows older than the retention whose events every consumer has passed;
        answers how many events went. The newest row always stays, so ids never start over."""
        cutoff = now() - timedelta(hours=self.settings.events_retention_hours)
        table = outbox_events.c
        async with self.engine.begin() as conn:
            newest = await conn.scalar(select(func.max(table.last_id)))
            if newest is None:
                return 0
            slowest = await conn.scalar(select(func.min(event_consumers.c.position)))
            keep_from = min(int(newest), int(slowest) + 1 if slowest is not None else newest)
            old = (table.last_id < keep_from) & (table.recorded_at < cutoff)
            events = await conn.scalar(select(func.coalesce(func.sum(table.count), 0)).where(old))
            await conn.execute(delete(outbox_events).where(old))
            return int(events or 0)

"""Outbox consumers: readers that must see each event exactly once across replicas.

Each consumer (the webhook fan-out, each site's reference publisher) has one row: its
position and a lease. A relay first takes the lease (free, expired, or already its own) in a
short transaction; then, in one transaction, it reads the events after the position, lets the
consumer handle them and moves the position on, on condition that it still holds the lease
and nobody moved the position meanwhile. A relay that crashed holds its lease until it
expires; a relay that lost its lease rolls its work back. So a consumer whose work is written
in that transaction (webhook deliveries) sees each event once; one whose work leaves the
database (an MQTT publish) may repeat an event after a crash, which its readers drop by id.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central.clock import now
from central.db.tables import event_consumers
from central.events.reading import StoredEvent, events_after, last_event_id


class Consumer(Protocol):
    """What the relay needs of a consumer."""

    @property
    def name(self) -> str:
        """Unique among consumers; the row its position is kept in."""
        ...

    @property
    def types(self) -> Collection[str] | None:
        """The event types it reads (None: all)."""
        ...

    @property
    def sites(self) -> Collection[str] | None:
        """The sites it reads (None: all)."""
        ...

    async def handle(self, conn: AsyncConnection, events: list[StoredEvent]) -> None:
        """Handle events in order, inside the transaction that moves the position on; raise
        to have them handed over again later."""
        ...


class LeaseLost(Exception):
    """Another relay took the consumer (our lease had expired): our work is rolled back."""


@dataclass
class Claim:
    """A consumer's lease, held by this relay until ``until``."""

    name: str
    position: int
    until: datetime

    def fresh(self, lease_seconds: float) -> bool:
        """True while more than half the lease is left: no need to renew it yet."""
        return (self.until - now()).total_seconds() > lease_seconds / 2


async def claim(
    engine: AsyncEngine, name: str, owner: str, lease_seconds: float, *, start: int | None = None
) -> Claim | None:
    """Take or renew ``name``'s lease for ``owner``; None when another relay holds it.

    A consumer seen for the first time starts at ``start`` (default: the newest event, so a
    new consumer is not handed the whole history)."""
    at = now()
    until = at + timedelta(seconds=lease_seconds)
    table = event_consumers.c
    async with engine.begin() as conn:
        taken = await conn.execute(
            update(event_consumers)
            .where(table.name == name)
            .where(
                or_(table.lease_owner.is_(None), table.lease_owner == owner, table.lease_until < at)
            )
            .values(lease_owner=owner, lease_until=until, updated_at=at)
            .returning(table.position)
        )
        position = taken.scalar()
        if position is not None:
            return Claim(name, int(position), until)
        exists = await conn.scalar(select(table.name).where(table.name == name))
        if exists is not None:
            return None
        begin = start if start is not None else await last_event_id(conn)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(event_consumers).values(
                    name=name, position=begin, lease_owner=owner, lease_until=until, updated_at=at
                )
            )
    except IntegrityError:  # another relay made it first
        return None
    return Claim(name, begin, until)


async def consume(
    engine: AsyncEngine,
    consumer: Consumer,
    claimed: Claim,
    owner: str,
    lease_seconds: float,
    *,
    limit: int = 500,
) -> int:
    """One step: hand the consumer the events after its position and move it on, all in one
    transaction; answers how many events it handled. Raises LeaseLost when another relay
    has taken over (nothing of this step is kept)."""
    table = event_consumers.c
    async with engine.begin() as conn:
        # The newest id first: an event numbered after it is left for the next step, never
        # passed over by moving the position beyond what was read.
        top = await last_event_id(conn)
        events = await events_after(
            conn,
            claimed.position,
            types=consumer.types,
            sites=consumer.sites,
            limit=limit,
            upto=top,
        )
        # Events the consumer does not read move the position on too.
        newest = events[-1].id if len(events) == limit else top
        if newest <= claimed.position:
            return 0
        if conn.dialect.name == "postgresql":
            # A step is redone whole if a crash loses it: its work and its position commit
            # together, and what it sent out carries ids its readers drop repeats by. So its
            # commit need not wait for the disk, and it does not hold up the floor's commits.
            await conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
        if events:
            await consumer.handle(conn, events)
        at = now()
        until = at + timedelta(seconds=lease_seconds)
        moved = await conn.execute(
            update(event_consumers)
            .where(table.name == claimed.name)
            .where(table.lease_owner == owner)
            .where(table.position == claimed.position)
            .values(position=newest, lease_until=until, updated_at=at)
        )
        if moved.rowcount != 1:
            raise LeaseLost(claimed.name)
    claimed.position = newest
    claimed.until = until
    return len(events)


async def release(engine: AsyncEngine, names: Collection[str], owner: str) -> None:
    """Give back this relay's leases (a clean stop), so another takes over at once."""
    if not names:
        return
    async with engine.begin() as conn:
        await conn.execute(
            update(event_consumers)
            .where(event_consumers.c.name.in_(list(names)))
            .where(event_consumers.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

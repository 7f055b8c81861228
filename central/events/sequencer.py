"""Giving committed outbox rows their public event ids, in the order their commits became visible.

Row ids come from a sequence when a transaction inserts, but transactions commit in another
order: a reader that followed row ids could pass a row whose transaction had not committed yet
and never see it. So the public id is given after commit: one sequencer at a time (a
PostgreSQL advisory lock across replicas) numbers the rows it can see, in row order, after the
highest id so far: a row's events take ``first_id`` .. ``last_id``. Every reader follows these
ids, which only grow and have no gaps. On SQLite writers number their own rows at the insert
(central/events/outbox.py); this finds nothing there.
"""

import logging
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from central.db.tables import outbox_events
from central.events.signal import mark_written

log = logging.getLogger(__name__)

SEQUENCER_LOCK = 0x10E_0E7E  # the advisory lock only one replica's sequencer holds at a time
BATCH = 5000


def _numbering(top: int, limit: int) -> Any:
    """One statement numbering up to ``limit`` unnumbered rows, in row order, from ``top`` + 1:
    each row's events take the next ``count`` ids (a running sum over the rows)."""
    pending = (
        select(
            outbox_events.c.row_id,
            outbox_events.c.count,
            (func.sum(outbox_events.c.count).over(order_by=outbox_events.c.row_id) + top).label(
                "last"
            ),
        )
        .where(outbox_events.c.first_id.is_(None))
        .order_by(outbox_events.c.row_id)
        .limit(limit)
        .subquery("pending")
    )
    return (
        update(outbox_events)
        .where(outbox_events.c.row_id == pending.c.row_id)
        .values(last_id=pending.c.last, first_id=pending.c.last - pending.c.count + 1)
    )


_ANY_PENDING = select(outbox_events.c.row_id).where(outbox_events.c.first_id.is_(None)).limit(1)


async def sequence_pending(engine: AsyncEngine, *, limit: int = BATCH) -> int:
    """Number up to ``limit`` committed, unnumbered outbox rows; answers how many rows.
    Answers 0 when another replica is numbering right now (it takes these too, or the next
    wake does).

    With nothing to number (most wakes: another reader or replica got there first) it costs
    one read on the partial index of unnumbered rows, and no write lock on SQLite."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(ioe_read_only=True)
        if await conn.scalar(_ANY_PENDING) is None:
            return 0
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                got = await conn.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK}
                )
                if not got:
                    return 0
            top = await conn.scalar(select(func.max(outbox_events.c.last_id))) or 0
            numbered = (await conn.execute(_numbering(top, limit))).rowcount
            if numbered:
                await mark_written(conn)
            return int(numbered)
    except DBAPIError as err:  # two sequencers on SQLite raced for the same ids: next pass
        log.info("sequencing deferred: %s", err.__class__.__name__)
        return 0


async def sequence_all(engine: AsyncEngine) -> int:
    """Number everything committed so far (tests and tools; the relay loops the same way)."""
    total = 0
    while n := await sequence_pending(engine):
        total += n
    return total

"""A consumer whose work is a row per event, written in the transaction that moves its
position: what the relay promises it (each event once across relays) can be counted."""

import argparse
import asyncio
from collections.abc import Collection

from sqlalchemy import BigInteger, Column, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central.db.engine import make_engine
from central.events.reading import StoredEvent
from central.events.relay import EventRelay
from central.settings import CentralSettings

metadata = MetaData()
seen_events = Table(
    "test_seen_events",
    metadata,
    Column("event_id", BigInteger, nullable=False),  # not unique: a repeat is counted
    Column("relay", String(64), nullable=False),
)


class SeenConsumer:
    """Writes each event it is handed into ``test_seen_events``, naming the relay."""

    name = "test-seen"
    types: Collection[str] | None = None
    sites: Collection[str] | None = None

    def __init__(self, relay: str) -> None:
        self.relay = relay

    async def handle(self, conn: AsyncConnection, events: list[StoredEvent]) -> None:
        await conn.execute(
            insert(seen_events), [{"event_id": e.id, "relay": self.relay} for e in events]
        )


async def create_seen_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)


async def drop_seen_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)


async def seen(engine: AsyncEngine) -> list[tuple[int, str]]:
    """Every (event id, relay) written, in event order."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(seen_events.c.event_id, seen_events.c.relay).order_by(seen_events.c.event_id)
        )
        return [(int(r.event_id), str(r.relay)) for r in rows]


async def seen_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(seen_events)) or 0)


async def _run(db_url: str, owner: str, lease: float) -> None:
    """A relay process feeding SeenConsumer until killed."""
    settings = CentralSettings(db_url=db_url, relay_lease_seconds=lease, relay_poll_seconds=0.2)
    engine = make_engine(db_url)
    await EventRelay(engine, settings, [SeenConsumer(owner)], owner=owner).run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("db_url")
    parser.add_argument("owner")
    parser.add_argument("--lease", type=float, default=5.0)
    args = parser.parse_args()
    asyncio.run(_run(args.db_url, args.owner, args.lease))

"""Pulls from an order system, kept durably: the next pull from the same source for the same
site asks for what changed since the start of the last one that succeeded."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.enums import SyncRunStatus
from central.db.tables import order_sync_runs


async def start(
    conn: AsyncConnection, *, site: str, source: str, since: datetime | None, at: datetime
) -> int:
    """Record a pull that is starting; answers its id."""
    made = await conn.execute(
        insert(order_sync_runs)
        .values(site=site, source=source, status="running", since=since, started_at=at)
        .returning(order_sync_runs.c.id)
    )
    return int(made.scalar_one())


async def finish(
    conn: AsyncConnection,
    run_id: int,
    *,
    status: SyncRunStatus,
    report: dict[str, Any],
    at: datetime,
) -> None:
    """Record how a pull ended, with its report."""
    await conn.execute(
        update(order_sync_runs)
        .where(order_sync_runs.c.id == run_id)
        .values(status=status, finished_at=at, report=report)
    )


async def last_success(conn: AsyncConnection, *, site: str, source: str) -> datetime | None:
    """When the last pull from ``source`` for ``site`` that succeeded started (None: never)."""
    found: datetime | None = await conn.scalar(
        select(func.max(order_sync_runs.c.started_at)).where(
            order_sync_runs.c.site == site,
            order_sync_runs.c.source == source,
            order_sync_runs.c.status == "succeeded",
        )
    )
    return found

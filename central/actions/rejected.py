"""Refused envelopes kept for inspection, within bounds: aggregated, capped, aged out.

Identical refusals from one source (same code, via, topic or named edge, same bytes) add to
one row's ``count`` instead of a row each, so an edge resending the same bad batch, or a
client replaying one junk body, stays one row. The table holds at most ``rejected_keep_rows``
rows and nothing last seen more than ``rejected_keep_days`` ago: a refusal that does not fit
is answered as always but not stored, and counted (``DropCounters.rejected_not_kept``).
The cap is per process against the count read at the last prune, so several replicas may
together pass it by what each stores between two prunes.
"""

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central.actions.intake import Rejection
from central.db.counted import add_counted
from central.db.tables import rejected_actions
from central.security.drops import DropCounters
from central.settings import CentralSettings

log = logging.getLogger(__name__)
PRUNE_SECONDS = 60.0  # how often retention and the cap are enforced by deleting


def fingerprint(row: dict[str, Any]) -> str:
    """What identical refusals share."""
    key = [row[name] for name in ("code", "via", "site", "edge", "action_id", "seq", "raw")]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def aggregated(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per fingerprint (repeats summed), in fingerprint order so concurrent upserts
    lock rows in one order and cannot deadlock."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = fingerprint(row)
        if key in merged:
            merged[key]["count"] += 1
            continue
        merged[key] = {**row, "fingerprint": key, "count": 1, "last_seen": row["received_at"]}
    return [merged[key] for key in sorted(merged)]


class RejectedStore:
    """Writes refusals (in the caller's transaction) and prunes the table (in its own)."""

    def __init__(self, settings: CentralSettings, drops: DropCounters) -> None:
        self.settings = settings
        self.drops = drops
        self._rows: int | None = None  # rows in the table as this process reckons
        self._pruned_at = float("-inf")

    async def keep(
        self,
        conn: AsyncConnection,
        rejections: list[Rejection],
        *,
        via: str,
        received_at: datetime,
    ) -> None:
        """Store ``rejections`` aggregated, or count them when the table is full."""
        if not rejections:
            return
        if self._rows is None:
            self._rows = await _count(conn)
        rows = aggregated(r.row(via=via, received_at=received_at) for r in rejections)
        room = self.settings.rejected_keep_rows - self._rows
        if room < len(rows):
            kept, dropped = rows[: max(room, 0)], rows[max(room, 0) :]
            self.drops.rejected_not_kept += sum(row["count"] for row in dropped)
            rows = kept
        if not rows:
            return
        await add_counted(conn, rejected_actions, rows)
        self._rows += len(rows)  # repeats of stored rows over-count until the next prune

    def prune_due(self) -> bool:
        """True when the last prune is older than PRUNE_SECONDS."""
        return time.monotonic() - self._pruned_at >= PRUNE_SECONDS

    async def prune(self, engine: AsyncEngine, *, at: datetime) -> None:
        """Delete rows past retention, then the oldest beyond the cap; recount. Logged, never
        raised: refusals were already answered for."""
        self._pruned_at = time.monotonic()
        cutoff = at - timedelta(days=self.settings.rejected_keep_days)
        table = rejected_actions.c
        try:
            async with engine.begin() as conn:
                aged = await conn.execute(delete(rejected_actions).where(table.last_seen < cutoff))
                removed = aged.rowcount or 0
                over = await _count(conn) - self.settings.rejected_keep_rows
                if over > 0:
                    oldest = select(table.id).order_by(table.id).limit(over).scalar_subquery()
                    result = await conn.execute(
                        delete(rejected_actions).where(table.id.in_(oldest))
                    )
                    removed += result.rowcount or 0
                self._rows = await _count(conn)
        except Exception:
            log.exception("rejected_actions not pruned; retried in %.0f s", PRUNE_SECONDS)
            return
        self.drops.rejected_pruned += removed


async def _count(conn: AsyncConnection) -> int:
    """Rows in rejected_actions."""
    query = select(func.count()).select_from(rejected_actions)
    return int((await conn.execute(query)).scalar_one())

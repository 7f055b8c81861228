"""What the reference cache knows of a record: when it ended, its GTINs, how it is stored."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import aiosqlite

from protocol import format_ts
from protocol.gs1 import gtin_14
from protocol.ref import RefItem

log = logging.getLogger(__name__)

# When a record of a kind is done with at central, and may leave the cache after a while.
ENDED = {
    "lp": ("status", ("consumed", "shipped")),
    "task": ("status", ("done", "cancelled")),
    "hold": ("status", ("released",)),
    # Dispatched (and whatever the carrier reports after) or cancelled: nothing more loads.
    "shipment": ("status", ("dispatched", "in_transit", "delivered", "exception", "cancelled")),
}


def is_ended(kind: str, data: dict[str, Any] | None) -> bool:
    """True when the record reached a final state (kept only for ``keep`` hours more)."""
    rule = ENDED.get(kind)
    return rule is not None and data is not None and data.get(rule[0]) in rule[1]


def product_gtins(data: dict[str, Any]) -> list[str]:
    """A product's GTINs as 14 digits; ones with a wrong check digit are left out."""
    out = []
    for gtin in data.get("gtins") or ():
        try:
            out.append(gtin_14(str(gtin)))
        except ValueError:
            log.warning("product %s: ignoring GTIN %r: not a valid GTIN", data.get("code"), gtin)
    return out


def dumps(data: dict[str, Any] | None) -> str | None:
    return None if data is None else json.dumps(data, separators=(",", ":"), ensure_ascii=False)


async def write_items(
    conn: aiosqlite.Connection, kind: str, items: list[RefItem], now: datetime
) -> None:
    """Upserts replace the whole record; deletes remove it; a product's GTINs follow it."""
    stamp = format_ts(now)
    upserts = [i for i in items if i.op == "upsert" and i.data is not None]
    deletes = [i.key for i in items if i.op == "delete" or i.data is None]
    if deletes:
        await conn.executemany(
            "DELETE FROM items WHERE kind = ? AND key = ?", [(kind, k) for k in deletes]
        )
    if upserts:
        # A record already ended keeps the time it first ended, so it leaves on schedule.
        await conn.executemany(
            "INSERT INTO items (kind, key, data, updated_at, ended_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at, ended_at = CASE WHEN excluded.ended_at IS NULL "
            "THEN NULL ELSE coalesce(items.ended_at, excluded.ended_at) END",
            [
                (kind, i.key, dumps(i.data), stamp, stamp if is_ended(kind, i.data) else None)
                for i in upserts
            ],
        )
    if kind == "product":
        touched = deletes + [i.key for i in upserts]
        await conn.executemany("DELETE FROM gtins WHERE product = ?", [(k,) for k in touched])
        await conn.executemany(
            "INSERT OR REPLACE INTO gtins (gtin, product) VALUES (?, ?)",
            [(g, i.key) for i in upserts if i.data for g in product_gtins(i.data)],
        )

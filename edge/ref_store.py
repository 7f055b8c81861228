"""The edge's reference cache on disk: what central last said about each record, per kind.

A file of its own beside the queue (``<data_dir>/ref.db``), so the queue's durability rules
stay exactly as they are. It is a cache: everything in it can be asked of central again, so
it is written with ``synchronous=NORMAL`` (a power cut may lose the newest deltas, and with
them the chain position in the same transaction, so the edge sees the gap and asks again),
and a file it cannot read is set aside and started anew rather than stopping the edge.

Per kind it keeps the id of the last delta applied (``last_id``), the wall time central was
last heard from for that kind (``as_of``), and whether the kind was ever complete
(``synced``: a snapshot swapped in, or the chain followed from its first delta). Records that
reached a final state (an LP consumed or shipped, a task done or cancelled, a hold released)
carry ``ended_at`` and are pruned after a keep time; a cap per kind bounds the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from edge.errors import EdgeError
from edge.ref_records import dumps, write_items
from protocol import format_ts
from protocol.gs1 import gtin_14
from protocol.ref import REF_KINDS, RefItem

log = logging.getLogger(__name__)

# Each step only adds; a file newer than this edge is set aside (it is only a cache).
MIGRATIONS = [
    """
    CREATE TABLE items (
        kind       TEXT NOT NULL,
        key        TEXT NOT NULL,
        data       TEXT NOT NULL,   -- the record's JSON exactly as central sent it
        updated_at TEXT NOT NULL,   -- when this edge stored it
        ended_at   TEXT,            -- when it reached a final state (pruned after a keep time)
        PRIMARY KEY (kind, key)
    ) WITHOUT ROWID;
    CREATE INDEX items_ended ON items(kind, ended_at);
    CREATE INDEX items_updated ON items(kind, updated_at);
    -- A product's GTINs as 14 digits, so a scanned GTIN-8/12/13/14 finds it.
    CREATE TABLE gtins (gtin TEXT PRIMARY KEY, product TEXT NOT NULL);
    CREATE INDEX gtins_product ON gtins(product);
    CREATE TABLE chains (
        kind    TEXT PRIMARY KEY,
        last_id INTEGER NOT NULL DEFAULT 0,
        as_of   TEXT,
        synced  INTEGER NOT NULL DEFAULT 0
    );
    -- Snapshot pages of a request in progress, swapped in when the last one arrived.
    CREATE TABLE staged (
        request TEXT NOT NULL,
        kind    TEXT NOT NULL,
        key     TEXT NOT NULL,
        op      TEXT NOT NULL,
        data    TEXT,
        PRIMARY KEY (request, kind, key)
    ) WITHOUT ROWID;
    """,
]


class RefStoreError(EdgeError):
    """The reference cache could not be read or written."""


@dataclass(frozen=True)
class Chain:
    """How far one kind's cache has followed central."""

    kind: str
    last_id: int = 0
    as_of: str | None = None
    synced: bool = False


class RefStore:
    """The cache file: one writer connection, one reader, every change one transaction."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer, self._reader = writer, reader
        # The receiving task and the follower's timers both write: one transaction at a time.
        self._writing = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> RefStore:
        """Open (or create) the cache file; an unreadable or newer one is set aside first.

        RefStoreError when it cannot be opened at all (a full disk, no permission)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return await cls._open(path)
        except sqlite3.DatabaseError as err:
            if not _unreadable(err):
                raise RefStoreError(f"reference cache {path} cannot be opened: {err}") from err
            aside = path.with_name(f"{path.name}.unreadable-{datetime.now(UTC):%Y%m%dT%H%M%S}")
            log.error("reference cache %s cannot be used (%s); set aside as %s", path, err, aside)
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{path}{suffix}")
                if source.exists():
                    source.replace(Path(f"{aside}{suffix}"))
            try:
                return await cls._open(path)
            except sqlite3.Error as again:
                raise RefStoreError(f"reference cache {path} cannot be made: {again}") from again

    @classmethod
    async def _open(cls, path: Path) -> RefStore:
        writer = await aiosqlite.connect(str(path), isolation_level=None)
        reader = None
        try:
            await writer.execute("PRAGMA journal_mode = WAL")
            await writer.execute("PRAGMA synchronous = NORMAL")
            await writer.execute("PRAGMA busy_timeout = 5000")
            rows = list(await writer.execute_fetchall("PRAGMA user_version"))
            found = int(rows[0][0])
            if found > len(MIGRATIONS):
                raise sqlite3.DatabaseError(
                    f"schema version {found} is newer than this edge's {len(MIGRATIONS)}"
                )
            for version in range(found, len(MIGRATIONS)):
                await writer.executescript(
                    f"BEGIN IMMEDIATE;\n{MIGRATIONS[version]}\n"
                    f"PRAGMA user_version = {version + 1};\nCOMMIT;"
                )
            await writer.executemany(
                "INSERT OR IGNORE INTO chains (kind) VALUES (?)", [(k,) for k in REF_KINDS]
            )
            await writer.execute("DELETE FROM staged")  # a request of a previous run: asked anew
            reader = await aiosqlite.connect(str(path), isolation_level=None)
            await reader.execute("PRAGMA query_only = 1")
            await reader.execute("PRAGMA busy_timeout = 5000")
        except BaseException:
            for conn in (reader, writer):
                if conn is not None:
                    await conn.close()
            raise
        return cls(path, writer, reader)

    async def close(self) -> None:
        """Close both connections."""
        await self._reader.close()
        await self._writer.close()

    # -- writes ---------------------------------------------------------------------------

    async def _transaction(self, steps: Any, doing: str) -> Any:
        """Run ``steps(conn)`` in one IMMEDIATE transaction; RefStoreError on failure."""
        conn = self._writer
        async with self._writing:
            return await self._run(conn, steps, doing)

    @staticmethod
    async def _run(conn: aiosqlite.Connection, steps: Any, doing: str) -> Any:
        try:
            if conn.in_transaction:
                # Left open by a COMMIT that failed (a full disk) or a statement a cancel cut
                # short: nothing of it was kept, and it must not refuse every write after it.
                await conn.execute("ROLLBACK")
            await conn.execute("BEGIN IMMEDIATE")
            try:
                result = await steps(conn)
                await conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        await conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as err:
            raise RefStoreError(f"reference cache: {doing} failed: {err}") from err

    async def apply_delta(
        self, kind: str, last_id: int, items: list[RefItem], *, synced: bool, now: datetime
    ) -> None:
        """Store a delta's items and the kind's new chain position, together."""

        async def steps(conn: aiosqlite.Connection) -> None:
            await write_items(conn, kind, items, now)
            await conn.execute(
                "UPDATE chains SET last_id = ?, as_of = ?, synced = ? WHERE kind = ?",
                (last_id, format_ts(now), int(synced), kind),
            )

        await self._transaction(steps, f"applying a {kind} delta")

    async def heard(self, kinds: Iterable[str], now: datetime) -> None:
        """Central was heard from for these kinds (a head saying nothing is missing)."""
        rows = [(format_ts(now), kind) for kind in kinds]
        if rows:

            async def steps(conn: aiosqlite.Connection) -> None:
                await conn.executemany("UPDATE chains SET as_of = ? WHERE kind = ?", rows)

            await self._transaction(steps, "recording the head")

    async def stage(self, request: str, kind: str, items: list[RefItem]) -> None:
        """Keep one snapshot page's items until the whole snapshot is in."""

        async def steps(conn: aiosqlite.Connection) -> None:
            await conn.executemany(
                "INSERT OR REPLACE INTO staged (request, kind, key, op, data) "
                "VALUES (?, ?, ?, ?, ?)",
                [(request, kind, i.key, i.op, dumps(i.data)) for i in items],
            )

        await self._transaction(steps, "staging a snapshot page")

    async def swap(self, request: str, as_of: dict[str, int], now: datetime) -> None:
        """Replace every kind of ``as_of`` by the staged snapshot, in one transaction."""

        async def steps(conn: aiosqlite.Connection) -> None:
            for kind, last_id in as_of.items():
                await conn.execute("DELETE FROM items WHERE kind = ?", (kind,))
                if kind == "product":
                    await conn.execute("DELETE FROM gtins")
                async with conn.execute(
                    "SELECT key, op, data FROM staged WHERE request = ? AND kind = ?",
                    (request, kind),
                ) as cursor:
                    staged = [
                        RefItem(op=op, key=key, data=json.loads(data) if data else None)
                        for key, op, data in await cursor.fetchall()
                    ]
                await write_items(conn, kind, staged, now)
                await conn.execute(
                    "UPDATE chains SET last_id = ?, as_of = ?, synced = 1 WHERE kind = ?",
                    (last_id, format_ts(now), kind),
                )
            await conn.execute("DELETE FROM staged")

        await self._transaction(steps, "swapping in a snapshot")

    async def drop_staged(self) -> None:
        """Forget the pages of a request given up on."""

        async def steps(conn: aiosqlite.Connection) -> None:
            await conn.execute("DELETE FROM staged")

        await self._transaction(steps, "dropping snapshot pages")

    async def prune(self, keep: dict[str, timedelta], cap: int, now: datetime) -> dict[str, int]:
        """Remove records ended longer than their kind's keep time, then hold each kind to
        ``cap`` records (ended ones first, then the least recently updated); returns how many
        records left per kind."""

        async def steps(conn: aiosqlite.Connection) -> dict[str, int]:
            removed: dict[str, int] = {}
            for kind, keep_for in keep.items():
                cursor = await conn.execute(
                    "DELETE FROM items WHERE kind = ? AND ended_at IS NOT NULL AND ended_at < ?",
                    (kind, format_ts(now - keep_for)),
                )
                removed[kind] = cursor.rowcount
            for kind in REF_KINDS:
                sql = "SELECT count(*) FROM items WHERE kind = ?"
                rows = list(await conn.execute_fetchall(sql, (kind,)))
                over = int(rows[0][0]) - cap
                if over <= 0:
                    continue
                log.warning(
                    "reference cache: %s holds %d records, over its cap of %d (ref_max_items): "
                    "evicting the %d least recently changed; lookups of them answer 404 until "
                    "central sends them again",
                    kind,
                    over + cap,
                    cap,
                    over,
                )
                cursor = await conn.execute(
                    "DELETE FROM items WHERE kind = ? AND key IN (SELECT key FROM items "
                    "WHERE kind = ? ORDER BY ended_at IS NULL, updated_at LIMIT ?)",
                    (kind, kind, over),
                )
                removed[kind] = removed.get(kind, 0) + cursor.rowcount
                if kind == "product":
                    await conn.execute(
                        "DELETE FROM gtins WHERE product NOT IN "
                        "(SELECT key FROM items WHERE kind = 'product')"
                    )
            return {kind: n for kind, n in removed.items() if n}

        result: dict[str, int] = await self._transaction(steps, "pruning")
        return result

    # -- reads ----------------------------------------------------------------------------

    async def chains(self) -> dict[str, Chain]:
        """Every kind's chain position."""
        rows = await self._read("SELECT kind, last_id, as_of, synced FROM chains", ())
        return {r[0]: Chain(r[0], int(r[1]), r[2], bool(r[3])) for r in rows}

    async def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """One record's data as central last sent it, or None."""
        rows = await self._read("SELECT data FROM items WHERE kind = ? AND key = ?", (kind, key))
        return json.loads(rows[0][0]) if rows else None

    async def product_by_gtin(self, gtin: str) -> dict[str, Any] | None:
        """The product with this GTIN (any length), or None."""
        try:
            full = gtin_14(gtin)
        except ValueError:
            return None
        rows = await self._read(
            "SELECT i.data FROM gtins g JOIN items i ON i.kind = 'product' AND i.key = g.product "
            "WHERE g.gtin = ?",
            (full,),
        )
        return json.loads(rows[0][0]) if rows else None

    async def open_records(self, kind: str) -> list[dict[str, Any]]:
        """Every record of a kind not in a final state."""
        rows = await self._read(
            "SELECT data FROM items WHERE kind = ? AND ended_at IS NULL", (kind,)
        )
        return [json.loads(row[0]) for row in rows]

    async def holds_any(self, kind: str) -> bool:
        """True when the cache holds at least one record of ``kind``."""
        return bool(await self._read("SELECT 1 FROM items WHERE kind = ? LIMIT 1", (kind,)))

    async def counts(self) -> dict[str, int]:
        """How many records each kind holds."""
        rows = await self._read("SELECT kind, count(*) FROM items GROUP BY kind", ())
        return {kind: 0 for kind in REF_KINDS} | {r[0]: int(r[1]) for r in rows}

    async def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        try:
            return list(await self._reader.execute_fetchall(sql, params))
        except sqlite3.Error as err:
            raise RefStoreError(f"reference cache could not be read: {err}") from err


def _unreadable(err: sqlite3.DatabaseError) -> bool:
    """A file that is not a cache this edge can use (corrupt, not SQLite, newer), as opposed
    to one it cannot open just now (a full disk, no permission): only the first is set aside."""
    code = getattr(err, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return "newer than this edge" in str(err)

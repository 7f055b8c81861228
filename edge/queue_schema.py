"""The queue file's schema and its add-only migrations, tracked with PRAGMA user_version."""

import logging
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite

from edge.errors import QueueError

log = logging.getLogger(__name__)

# States an action can be in; the first two are "not final": they still need sending.
OPEN_STATES = ("queued", "sent")
FINAL_STATES = ("applied", "duplicate", "conflict", "rejected")
STATES = OPEN_STATES + FINAL_STATES
# The SQL test for "not final". Queries must spell it exactly as the actions_open index's
# WHERE does, or SQLite will not use that partial index (a test holds the two together).
OPEN_SQL = "state IN (" + ", ".join(f"'{state}'" for state in OPEN_STATES) + ")"
# Actions central refused (a conflict waiting for a supervisor, or a rejected envelope): spelt
# as the actions_refused index's WHERE, for the same reason.
REFUSED_STATES = ("conflict", "rejected")
REFUSED_SQL = "state IN (" + ", ".join(f"'{state}'" for state in REFUSED_STATES) + ")"

# Each migration only adds (tables, columns, indexes, triggers): a queue file written by an
# older version keeps every action it holds. Index i brings the file to user_version i + 1.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE actions (
        seq         INTEGER PRIMARY KEY,  -- per edge, gap-free, assigned in the insert's txn
        id          TEXT NOT NULL UNIQUE,  -- UUIDv7, the idempotency key everywhere
        type        TEXT NOT NULL,
        station     TEXT NOT NULL,
        operator    TEXT NOT NULL,
        ts          TEXT NOT NULL,         -- device time of the scan, as in the envelope
        envelope    TEXT NOT NULL,         -- the signed JSON exactly as it is sent
        state       TEXT NOT NULL,
        code        TEXT,
        message     TEXT,
        conflict_id INTEGER,
        attempts    INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        sent_at     TEXT,
        acked_at    TEXT
    );
    -- Only the actions still to send: stays small however long the history grows.
    CREATE INDEX actions_open ON actions(seq) WHERE state IN ('queued', 'sent');
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    -- Counts per state kept by triggers in the same transaction, so stats never scan history.
    CREATE TABLE state_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL);
    INSERT INTO state_counts (state, n) VALUES
        ('queued', 0), ('sent', 0), ('applied', 0), ('duplicate', 0), ('conflict', 0),
        ('rejected', 0);
    CREATE TRIGGER actions_count_insert AFTER INSERT ON actions BEGIN
        UPDATE state_counts SET n = n + 1 WHERE state = NEW.state;
    END;
    CREATE TRIGGER actions_count_update AFTER UPDATE OF state ON actions
    WHEN OLD.state <> NEW.state BEGIN
        UPDATE state_counts SET n = n - 1 WHERE state = OLD.state;
        UPDATE state_counts SET n = n + 1 WHERE state = NEW.state;
    END;
    """,
    # For the kiosks (edge/station_log.py): a station's recent actions, its actions of a type
    # since a time (the "done today" counters), the refused ones, and the conflicts this edge
    # forwarded to central and central resolved.
    """
    CREATE INDEX actions_station ON actions(station, seq);
    CREATE INDEX actions_type_station_ts ON actions(type, station, ts);
    CREATE INDEX actions_refused ON actions(seq) WHERE state IN ('conflict', 'rejected');
    CREATE TABLE resolutions (
        conflict_id INTEGER PRIMARY KEY,  -- central's conflict id, as the ack named it
        action_id   TEXT NOT NULL,
        resolution  TEXT NOT NULL,         -- apply, apply_with_changes or void
        by          TEXT NOT NULL,         -- the supervisor's operator id
        at          TEXT NOT NULL,         -- when central confirmed it (edge time)
        status      TEXT NOT NULL          -- central's conflict status after it
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


async def migrate(conn: aiosqlite.Connection) -> int:
    """Bring the file up to SCHEMA_VERSION; returns the version found before."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    found = int(row[0]) if row else 0
    if found > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"queue file has schema version {found}, newer than this edge's {SCHEMA_VERSION}; "
            "upgrade the edge instead of downgrading it"
        )
    for version in range(found, SCHEMA_VERSION):
        # executescript commits first; BEGIN/COMMIT make each step all-or-nothing.
        await conn.executescript(
            f"BEGIN IMMEDIATE;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\n"
            "COMMIT;"
        )
    return found


async def pragma(conn: aiosqlite.Connection, statement: str) -> Any:
    """Run a PRAGMA and return its first value, if any (one round trip to the thread)."""
    rows = list(await conn.execute_fetchall(f"PRAGMA {statement}"))
    return rows[0][0] if rows else None


async def rollback(conn: aiosqlite.Connection) -> None:
    """Roll back if a transaction is still open (SQLite may already have, on SQLITE_FULL)."""
    try:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
    except sqlite3.Error:
        log.exception("rollback failed")


async def claim(conn: aiosqlite.Connection, path: Path, *, site: str, edge: str) -> None:
    """Bind the file to one edge: its seq and signatures belong to that edge only."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        async with conn.execute("SELECT key, value FROM meta WHERE key IN ('site', 'edge')") as cur:
            owner = {str(key): str(value) for key, value in await cur.fetchall()}
        if owner and owner != {"site": site, "edge": edge}:
            raise QueueError(
                f"queue file {path} belongs to edge {owner.get('site')}/"
                f"{owner.get('edge')}, not {site}/{edge}; point data_dir elsewhere"
            )
        if not owner:
            await conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)", [("site", site), ("edge", edge)]
            )
        await conn.execute("COMMIT")
    except BaseException:
        await rollback(conn)
        raise


async def connect(path: Path, *, site: str, edge: str) -> tuple[aiosqlite.Connection, ...]:
    """The writer and reader connections of a queue file, migrated and claimed.

    On a file already current and claimed this writes nothing, so an edge starts on a full disk.
    """
    writer = reader = None
    try:
        writer = await aiosqlite.connect(str(path), isolation_level=None)
        mode = await pragma(writer, "journal_mode = WAL")
        if str(mode).lower() != "wal":
            raise QueueError(
                f"queue file {path}: the filesystem does not support WAL mode; put the "
                "edge's data_dir on a local disk"
            )
        # FULL: an action is on disk when COMMIT returns, even across a power cut.
        await pragma(writer, "synchronous = FULL")
        await pragma(writer, "busy_timeout = 5000")
        await migrate(writer)
        await claim(writer, path, site=site, edge=edge)
        reader = await aiosqlite.connect(str(path), isolation_level=None)
        await pragma(reader, "query_only = 1")
        await pragma(reader, "busy_timeout = 5000")
    except BaseException:
        for conn in (reader, writer):
            if conn is not None:
                await conn.close()
        raise
    return writer, reader


def is_disk_full(err: BaseException) -> bool:
    """True for SQLite's "disk full" (the disk, or the file's page limit)."""
    code = getattr(err, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_FULL:
        return True
    return "database or disk is full" in str(err)

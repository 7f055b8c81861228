"""The async engine for SQLite (embedded default) or PostgreSQL (production)."""

from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from runtime.files import owner_only_file

BUSY_TIMEOUT_MS = 30_000
# Pages each connection keeps in memory (negative: KiB). SQLite's default, 2 MiB, is sized
# for phones; a plant database runs to gigabytes, and every page missed is a system call.
# Memory is taken only as pages are read. The recall trace's statement runs ~11% faster for
# it (docs/benchmarks.md).
SQLITE_CACHE_KIB = 64 * 1024


def is_sqlite(engine: AsyncEngine) -> bool:
    """True for the embedded SQLite backend."""
    return engine.dialect.name == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, foreign_keys: bool = True) -> None:
    """Per-connection SQLite setup.

    cache_size: see SQLITE_CACHE_KIB. synchronous=NORMAL in WAL mode keeps every commit
    atomic and consistent; a power cut can lose the last commits, but central's durability
    unit is the transaction and its acks go out only after commit: a batch lost that way was
    never acked, so the edge sends it again (its own queue, on synchronous=FULL, is the
    source of truth).
    """
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin) instead of the driver's lazy BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        f"foreign_keys={'ON' if foreign_keys else 'OFF'}",
        f"busy_timeout={BUSY_TIMEOUT_MS}",
        "synchronous=NORMAL",
        f"cache_size=-{SQLITE_CACHE_KIB}",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """Take the write lock at BEGIN, so a transaction's reads and writes see one state.

    With a deferred BEGIN two writers can both read, and the second then fails to upgrade its
    lock (SQLITE_BUSY without waiting). IMMEDIATE makes it wait on busy_timeout instead.
    Transactions marked ``ioe_read_only`` stay deferred and never block writers in WAL mode.
    """
    read_only = conn.get_execution_options().get("ioe_read_only", False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(
    url: str, *, sqlite_foreign_keys: bool = True, outbox: bool = True, **kwargs: Any
) -> AsyncEngine:
    """An AsyncEngine for ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URLs.

    ``sqlite_foreign_keys=False`` is for migrations only: SQLite rebuilds a table to change its
    constraints, and dropping the old copy would trip the foreign keys that point at it.
    ``outbox=False`` makes an engine whose transactions write no events (``IOE_OUTBOX=0``).
    """
    engine = _make_engine(url, sqlite_foreign_keys=sqlite_foreign_keys, **kwargs)
    return engine if outbox else engine.execution_options(ioe_outbox=False)


def _make_engine(url: str, *, sqlite_foreign_keys: bool, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database not in (None, "", ":memory:"):
            # Owner-only before SQLite first opens it: its -wal/-shm files take its mode.
            owner_only_file(Path(parsed.database).expanduser())
        engine = create_async_engine(url, **kwargs)
        event.listen(
            engine.sync_engine,
            "connect",
            partial(_sqlite_pragmas, foreign_keys=sqlite_foreign_keys),
        )
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    # asyncpg prepares every statement. After five runs PostgreSQL may switch a prepared
    # statement to a generic plan made while the tables were small; for the batch lookups
    # (`number IN (...200 values)`) that plan is a sequential scan whose cost grows with the
    # history. Custom plans keep the unique-index lookups whatever the table size.
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("server_settings", {}).setdefault(
        "plan_cache_mode", "force_custom_plan"
    )
    return create_async_engine(url, **kwargs)

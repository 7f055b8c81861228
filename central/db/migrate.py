"""Apply central's Alembic migrations programmatically (``ioe db upgrade``, central start)."""

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from central.db.engine import make_engine
from central.errors import MigrationError
from central.keys import MasterKey

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Any constant works: it only has to be the same in every central process.
PG_MIGRATION_LOCK = 0x10E_0001


def alembic_config(db_url: str) -> Config:
    """An Alembic Config pointing at the migrations shipped inside the package."""
    config = Config(str(PACKAGE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    config.set_main_option("sqlalchemy.url", db_url.replace("%", "%%"))
    return config


def _upgrade_on(connection: Connection, config: Config, revision: str = "head") -> None:
    """Run ``upgrade <revision>`` on a connection that is already inside a transaction."""
    if connection.dialect.name == "postgresql":
        # Two replicas starting together: the second waits, then finds nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    if connection.dialect.name == "sqlite":
        # Migrations run with SQLite's foreign keys off (table rebuilds): prove none broke.
        broken = connection.execute(text("PRAGMA foreign_key_check")).all()
        if broken:
            raise MigrationError(f"the migration left broken foreign keys: {broken[:5]}")


async def upgrade(
    db_url: str, revision: str = "head", *, master_key: MasterKey | None = None
) -> None:
    """Bring the database at ``db_url`` to the newest schema (or ``revision``); safe to repeat.

    ``master_key`` seals the secrets of edges registered before 0005; it is needed only when
    there are such edges (a new database migrates without it).
    """
    config = alembic_config(db_url)
    config.attributes["master_key"] = master_key
    engine = make_engine(db_url, sqlite_foreign_keys=False)

    async def migrate() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_on, config, revision)

    try:
        await _uncut(migrate())
    except OSError as err:
        raise MigrationError(f"cannot reach the database at {engine.url!r}: {err}") from err
    finally:
        await engine.dispose()


async def _uncut(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` to its end even when the caller is cancelled (SIGTERM during the start),
    then pass the cancellation on. A schema change cut between two statements (SQLite's
    table copies) leaves a broken transaction whose error would replace the clean stop."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError

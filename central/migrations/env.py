"""Alembic environment: runs on a connection handed in by central.db.migrate, or opens its own."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from central.db.engine import make_engine
from central.db.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    """Run the pending migrations on one synchronous connection."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_own_engine(url: str) -> None:
    """Used when alembic runs from the command line: open an engine for the configured URL."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


def _url() -> str:
    """The database URL: ``-x db_url=...`` on the command line wins over alembic.ini."""
    return (
        context.get_x_argument(as_dictionary=True).get("db_url")
        or config.get_main_option("sqlalchemy.url")
        or ""
    )


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection)
else:
    asyncio.run(_run_own_engine(_url()))

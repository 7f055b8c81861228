"""Migration 0012_count_scope: every existing count session becomes a partial count, the scope
is checked, and the revision goes down again."""

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from central.db.engine import make_engine
from central.db.migrate import alembic_config, upgrade

NOW = "2026-11-01 10:00:00"


def _downgrade_on(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_existing_sessions_become_partial(database_url: str) -> None:
    await upgrade(database_url, "0008")
    engine = make_engine(database_url)
    session_sql = (
        "INSERT INTO count_sessions (id, site, number, location_id, status, created_by, "
        "created_at{extra}) VALUES ({id}, 'plant-1', 'CNT-{id}', 1, '{status}', 'wh-1', "
        f"'{NOW}'{{values}})"
    )
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO locations (id, site, code, name, kind, created_at) "
                f"VALUES (1, 'plant-1', 'A-01', 'Rack', 'storage', '{NOW}')"
            )
            for id, status in ((1, "open"), (2, "approved"), (3, "cancelled")):
                await conn.exec_driver_sql(
                    session_sql.format(id=id, status=status, extra="", values="")
                )
        await upgrade(database_url)
        async with engine.begin() as conn:
            # Written by code that does not name the scope (a replica not yet upgraded).
            await conn.exec_driver_sql(session_sql.format(id=4, status="open", extra="", values=""))
            await conn.exec_driver_sql(
                session_sql.format(id=5, status="open", extra=", scope", values=", 'full'")
            )
        async with engine.connect() as conn:
            scopes = (
                await conn.execute(text("SELECT id, status, scope FROM count_sessions ORDER BY id"))
            ).all()
        assert scopes == [
            (1, "open", "partial"),
            (2, "approved", "partial"),
            (3, "cancelled", "partial"),
            (4, "open", "partial"),
            (5, "open", "full"),
        ]
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.exec_driver_sql(
                    session_sql.format(id=6, status="open", extra=", scope", values=", 'most'")
                )

        async with engine.begin() as conn:
            await conn.run_sync(_downgrade_on, database_url, "0008")
        async with engine.connect() as conn:
            kept = (await conn.execute(text("SELECT id FROM count_sessions ORDER BY id"))).all()
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert kept == [(1,), (2,), (3,), (4,), (5,)] and version == [("0008",)]
        await upgrade(database_url)  # and up again: the scope comes back as partial
        async with engine.connect() as conn:
            again = (await conn.execute(text("SELECT DISTINCT scope FROM count_sessions"))).all()
        assert again == [("partial",)]
    finally:
        await engine.dispose()

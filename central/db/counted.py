"""Counted rows: one row per fingerprint that adds up its repeats, for records a flood could
otherwise multiply (security events, refused messages)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def add_counted(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    latest: Sequence[str] = (),
) -> None:
    """Insert ``rows`` (each with ``fingerprint``, ``count`` and ``last_seen``), or add their
    count to the row already there, keeping the later ``last_seen`` and the newer value of each
    column in ``latest``: one statement on SQLite and PostgreSQL, safe for concurrent writers
    (replicas) since the database does the adding."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(list(rows))
    current, new = table.c, stmt.excluded
    updates: dict[str, Any] = {
        "count": current.count + new["count"],
        "last_seen": case(
            (new["last_seen"] > current.last_seen, new["last_seen"]), else_=current.last_seen
        ),
    }
    updates.update({name: new[name] for name in latest})
    await conn.execute(
        stmt.on_conflict_do_update(index_elements=[current.fingerprint], set_=updates)
    )

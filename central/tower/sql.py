"""SQL pieces the control tower's queries share: a site filter, a UTC date, counts."""

from typing import Any

from sqlalchemy import Date, case, cast, func, true
from sqlalchemy.ext.asyncio import AsyncConnection


def in_sites(column: Any, sites: list[str] | None) -> Any:
    """``column IN sites``, or no condition for a caller of every site."""
    return true() if sites is None else column.in_(sites)


def utc_date(conn: AsyncConnection, column: Any) -> Any:
    """The UTC calendar date of a timestamp column, comparable with a DATE column on either
    backend (SQLite keeps UTC text, so its date(); PostgreSQL converts from timestamptz)."""
    if conn.dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def count_if(condition: Any) -> Any:
    """How many rows of a group meet ``condition`` (0 for none, never NULL)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

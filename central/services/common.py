"""Small helpers the services share: timestamps, row conversion, unique-key errors."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Row

MAX_PAGE = 1000


def now() -> datetime:
    """Central's clock, timezone-aware UTC."""
    return datetime.now(UTC)


def as_dict(row: Row[Any]) -> dict[str, Any]:
    """A result row as a plain dict."""
    return dict(row._mapping)


def page(limit: int, offset: int) -> tuple[int, int]:
    """A sane (limit, offset) pair: at most MAX_PAGE rows, never negative."""
    return max(1, min(limit, MAX_PAGE)), max(0, offset)

"""Row helpers the services share: a result row as a dict, a sane page of rows."""

from typing import Any

from sqlalchemy.engine import Row

MAX_PAGE = 1000


def as_dict(row: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    """A result row as a plain dict."""
    return dict(row._mapping)


def page(limit: int, offset: int) -> tuple[int, int]:
    """A sane (limit, offset) pair: at most MAX_PAGE rows, never negative."""
    return max(1, min(limit, MAX_PAGE)), max(0, offset)

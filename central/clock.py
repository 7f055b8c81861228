"""Central's clock: every time central records is timezone-aware UTC."""

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)

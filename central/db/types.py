"""Column types that behave the same on SQLite and PostgreSQL: exact quantities, UTC times."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

QTY_SCALE = 10**6  # six decimals, the most protocol.types.Quantity allows
_SCALE = Decimal(QTY_SCALE)


def from_units(value: int) -> Decimal:
    """A quantity stored as micro-units, as the Decimal it stands for."""
    return Decimal(int(value)) / _SCALE


def as_utc(value: datetime) -> datetime:
    """A timestamp read back from either backend as an aware UTC datetime (SQLite's are naive)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Qty(TypeDecorator[Decimal]):
    """A Decimal stored as a scaled integer (micro-units), so SUM is exact on every backend.

    SQLite has no exact decimal type (NUMERIC there is a float affinity), and a BigInteger
    holds +-9.2e12 units at six decimals, more than the protocol's 1e12 limit.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        """Decimal (or int/str) -> micro-units; refuse anything that would lose digits."""
        if value is None:
            return None
        scaled = Decimal(value) * QTY_SCALE
        if scaled != scaled.to_integral_value():
            raise ValueError(f"quantity {value} has more than 6 decimal places")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Micro-units -> Decimal (also for SUM(), which SQLite and PG hand back as int)."""
        return None if value is None else from_units(value)

    @property
    def python_type(self) -> type[Decimal]:
        """Values come back as Decimal."""
        return Decimal


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite keeps naive text, read back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC (naive on SQLite, which drops offsets)."""
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware datetimes, not {value!r}")
        utc: datetime = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Always an aware UTC datetime."""
        return None if value is None else as_utc(value)

    @property
    def python_type(self) -> type[datetime]:
        """Values come back as aware datetimes."""
        return datetime

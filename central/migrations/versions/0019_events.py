"""The event outbox and its consumers.

New table ``outbox_events``: every state change's domain events, written in the transaction
of the change, one row per write; their ids (``first_id`` .. ``last_id``) are given in commit
order. New table ``event_consumers``: the position and lease of each reader that must see every
event once.

Revision ID: 0019_events
Revises: 0018_control_tower
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import UtcDateTime

revision: str = "0019_events"
down_revision: str | None = "0018_control_tower"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create outbox_events and event_consumers."""
    op.create_table(
        "outbox_events",
        sa.Column("row_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("first_id", sa.BigInteger),
        sa.Column("last_id", sa.BigInteger),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.CheckConstraint("count > 0", name="ck_outbox_events_count"),
        sa.PrimaryKeyConstraint("row_id", name="pk_outbox_events"),
        sa.UniqueConstraint("first_id", name="uq_outbox_events_first_id"),
        sa.UniqueConstraint("last_id", name="uq_outbox_events_last_id"),
    )
    op.create_index(
        "ix_outbox_events_unsequenced",
        "outbox_events",
        ["row_id"],
        postgresql_where=sa.text("first_id IS NULL"),
        sqlite_where=sa.text("first_id IS NULL"),
    )
    op.create_table(
        "event_consumers",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", UtcDateTime),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_event_consumers"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("event_consumers")
    op.drop_index("ix_outbox_events_unsequenced", table_name="outbox_events")
    op.drop_table("outbox_events")

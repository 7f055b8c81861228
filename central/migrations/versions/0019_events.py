"""The event outbox and its consumers.

New table ``outbox_events``: every state change's domain event, written in the transaction of
the change; ``event_id`` is given after commit by the sequencer, in commit order. New table
``event_consumers``: the position and lease of each reader that must see every event once.

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
        sa.Column("event_id", sa.BigInteger),
        sa.Column("type", sa.String(48), nullable=False),
        sa.Column("site", sa.String(64)),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("cause", sa.String(36)),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("row_id", name="pk_outbox_events"),
        sa.UniqueConstraint("event_id", name="uq_outbox_events_event_id"),
    )
    op.create_index("ix_outbox_events_type_site", "outbox_events", ["type", "site", "event_id"])
    op.create_index("ix_outbox_events_subject", "outbox_events", ["subject", "event_id"])
    op.create_index(
        "ix_outbox_events_unsequenced",
        "outbox_events",
        ["row_id"],
        postgresql_where=sa.text("event_id IS NULL"),
        sqlite_where=sa.text("event_id IS NULL"),
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
    op.drop_index("ix_outbox_events_subject", table_name="outbox_events")
    op.drop_index("ix_outbox_events_type_site", table_name="outbox_events")
    op.drop_table("outbox_events")

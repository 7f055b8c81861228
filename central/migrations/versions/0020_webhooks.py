"""Webhooks: outside HTTP endpoints sent the events they subscribe to.

New table ``webhooks``: the subscriptions (URL, event types, sites, the signing secret sealed
under the master key, the previous one during a rotation's overlap, health). New table
``webhook_deliveries``: one row per (endpoint, event), written by the webhook fan-out in the
transaction that moves its outbox position, so each event becomes exactly one delivery per
endpoint. New table ``webhook_attempts``: every try of a delivery.

Revision ID: 0020_webhooks
Revises: 0019_events
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import UtcDateTime

revision: str = "0020_webhooks"
down_revision: str | None = "0019_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELIVERY_STATUSES = ("pending", "delivered", "failed")


def upgrade() -> None:
    """Create webhooks, webhook_deliveries and webhook_attempts."""
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("types", sa.JSON, nullable=False),
        sa.Column("sites", sa.JSON),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.String(500)),
        sa.Column("secret_sealed", sa.Text, nullable=False),
        sa.Column("secret_version", sa.Integer, nullable=False),
        sa.Column("previous_secret_sealed", sa.Text),
        sa.Column("previous_until", UtcDateTime),
        sa.Column("after_event", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("last_success_at", UtcDateTime),
        sa.Column("last_failure_at", UtcDateTime),
        sa.Column("last_error", sa.String(500)),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
    )
    statuses = ", ".join(repr(s) for s in DELIVERY_STATUSES)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("webhook_id", sa.Integer, nullable=False),
        sa.Column("event_id", sa.BigInteger),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(48), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", UtcDateTime),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("delivered_at", UtcDateTime),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.String(500)),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.CheckConstraint(f"status IN ({statuses})", name="ck_webhook_deliveries_status"),
        sa.UniqueConstraint(
            "webhook_id", "event_id", name="uq_webhook_deliveries_webhook_id_event_id"
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at", "id"]
    )
    op.create_index(
        "ix_webhook_deliveries_subject",
        "webhook_deliveries",
        ["webhook_id", "subject", "id"],
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("delivery_id", sa.BigInteger, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.String(500)),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_index("ix_webhook_attempts_delivery_id", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_subject", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")

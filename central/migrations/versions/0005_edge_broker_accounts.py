"""Edges get a broker account: the Mosquitto hash of the MQTT password made at provisioning.

Edges provisioned before this revision have none (NULL) and get no broker account until they
are provisioned again; the password itself is never stored.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add edges.mqtt_password_hash (nullable: existing edges have no account yet)."""
    with op.batch_alter_table("edges") as batch:
        batch.add_column(sa.Column("mqtt_password_hash", sa.String(200), nullable=True))


def downgrade() -> None:
    """Drop the broker password hashes."""
    with op.batch_alter_table("edges") as batch:
        batch.drop_column("mqtt_password_hash")

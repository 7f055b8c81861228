"""Refused envelopes aggregated and bounded: identical refusals share a counted row.

Existing rows become rows of one occurrence each (count 1, last seen when received, no
fingerprint, so they never absorb new refusals); ``last_seen`` is indexed for the retention
prune.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the columns, fill them for existing rows, then make them required."""
    with op.batch_alter_table("rejected_actions") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(64)))
        batch.add_column(sa.Column("count", sa.BigInteger()))
        batch.add_column(sa.Column("last_seen", UtcDateTime()))
    op.execute("UPDATE rejected_actions SET count = 1, last_seen = received_at")
    with op.batch_alter_table("rejected_actions") as batch:
        batch.alter_column("count", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("last_seen", existing_type=UtcDateTime(), nullable=False)
        batch.create_unique_constraint("uq_rejected_actions_fingerprint", ["fingerprint"])
    op.create_index("ix_rejected_actions_last_seen", "rejected_actions", ["last_seen"])


def downgrade() -> None:
    """Drop the aggregation columns (aggregated rows keep their first occurrence only)."""
    op.drop_index("ix_rejected_actions_last_seen", "rejected_actions")
    with op.batch_alter_table("rejected_actions") as batch:
        batch.drop_constraint("uq_rejected_actions_fingerprint", type_="unique")
        batch.drop_column("last_seen")
        batch.drop_column("count")
        batch.drop_column("fingerprint")

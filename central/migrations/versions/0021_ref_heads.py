"""The heads of the reference-data chains central publishes to the edges.

New table ``ref_heads``: per (site, kind) the id of the newest reference delta published, so
the next delta names it as ``prev`` and a snapshot tells an edge from where deltas apply.

Revision ID: 0021_ref_heads
Revises: 0020_webhooks
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import UtcDateTime

revision: str = "0021_ref_heads"
down_revision: str | None = "0020_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ref_heads."""
    op.create_table(
        "ref_heads",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("delta_id", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("site", "kind", name="pk_ref_heads"),
    )


def downgrade() -> None:
    """Drop ref_heads."""
    op.drop_table("ref_heads")

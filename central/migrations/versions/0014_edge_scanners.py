"""The edge registry keeps each edge's scanner states, as its retained state reports them.

``edges`` gains ``scanners``: JSON, by station, each driver's kind, status (connected /
waiting / error / stopped / idle), device, reason and since. Existing edges have none until
they next publish their state.

Revision ID: 0014_edge_scanners
Revises: 0013_lp_label_dates
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_edge_scanners"
down_revision: str | None = "0013_lp_label_dates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """One nullable JSON column: no rewrite of existing rows."""
    op.add_column("edges", sa.Column("scanners", sa.JSON, nullable=True))


def downgrade() -> None:
    """Drop it (the next state message an edge publishes is not kept)."""
    with op.batch_alter_table("edges") as batch:
        batch.drop_column("scanners")

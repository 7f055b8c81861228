"""Pulls from an outside order system, and PO numbers normalized by the full rules.

New table ``order_sync_runs``: each pull with its source, site, status and report; the next
pull asks the source for what changed since the start of the last one that succeeded.
Existing purchase orders get their ``normalized_number`` by the rules shipments are matched
by (central/purchasing/po_numbers.py; 0016 filled in only a trimmed upper-case copy).

Revision ID: 0017_order_sync_runs
Revises: 0016_sales_orders
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import UtcDateTime
from central.purchasing.po_numbers import normalize

revision: str = "0017_order_sync_runs"
down_revision: str | None = "0016_sales_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The closed set as this revision wrote it into its CHECK constraint (history, never edited).
SYNC_RUN_STATUSES = "status IN ('running', 'succeeded', 'failed')"


def upgrade() -> None:
    """Create order_sync_runs; normalize every purchase order's number."""
    op.create_table(
        "order_sync_runs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("since", UtcDateTime),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime),
        sa.Column("report", sa.JSON),
        sa.CheckConstraint(SYNC_RUN_STATUSES, name="ck_order_sync_runs_status"),
        sa.PrimaryKeyConstraint("id", name="pk_order_sync_runs"),
    )
    op.create_index(
        "ix_order_sync_runs_site",
        "order_sync_runs",
        ["site", "source", "status", "started_at"],
    )
    conn = op.get_bind()
    pos = sa.table(
        "purchase_orders",
        sa.column("id", sa.Integer),
        sa.column("number", sa.String),
        sa.column("normalized_number", sa.String),
    )
    changed = [
        {"po_id": row.id, "normalized": normalize(row.number)}
        for row in conn.execute(sa.select(pos.c.id, pos.c.number, pos.c.normalized_number))
        if normalize(row.number) != row.normalized_number
    ]
    if changed:
        conn.execute(
            pos.update()
            .where(pos.c.id == sa.bindparam("po_id"))
            .values(normalized_number=sa.bindparam("normalized")),
            changed,
        )


def downgrade() -> None:
    """Drop order_sync_runs (normalized numbers stay: 0016's column holds them either way)."""
    op.drop_index("ix_order_sync_runs_site", table_name="order_sync_runs")
    op.drop_table("order_sync_runs")

"""Low-stock thresholds.

New table ``low_stock_thresholds``: per product (so per site), the available quantity under
which stock is low, and whether it was below when last checked, so ``inventory.low_stock`` is
written once per crossing, not on every change below it.

Revision ID: 0022_low_stock
Revises: 0021_ref_heads
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import Qty, UtcDateTime

revision: str = "0022_low_stock"
down_revision: str | None = "0021_ref_heads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create low_stock_thresholds."""
    op.create_table(
        "low_stock_thresholds",
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("min_qty", Qty, nullable=False),
        sa.Column("below", sa.Boolean, nullable=False),
        sa.Column("crossed_at", UtcDateTime),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("product_id", name="pk_low_stock_thresholds"),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name="fk_low_stock_thresholds_product_id_products",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("min_qty > 0", name="ck_low_stock_thresholds_min_qty"),
    )
    op.create_index("ix_low_stock_thresholds_site", "low_stock_thresholds", ["site", "below"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_low_stock_thresholds_site", table_name="low_stock_thresholds")
    op.drop_table("low_stock_thresholds")

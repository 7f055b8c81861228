"""LPs keep their supplier label's dates; products are found by GTIN.

``license_plates`` gains ``production_date`` (AI 11) and ``best_before`` (AI 15), as an
``lp.receive`` read them off the label; ``expiry`` stays the date IOE acts on. Existing LPs
have neither (nothing recorded them). ``products.gtin`` gets an index: a receipt by GTIN
looks its product up by it.

Revision ID: 0013_lp_label_dates
Revises: 0012_count_scope
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_lp_label_dates"
down_revision: str | None = "0012_count_scope"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Two nullable date columns (no rewrite of existing rows) and the GTIN index."""
    op.add_column("license_plates", sa.Column("production_date", sa.Date, nullable=True))
    op.add_column("license_plates", sa.Column("best_before", sa.Date, nullable=True))
    op.create_index("ix_products_gtin", "products", ["gtin"])


def downgrade() -> None:
    """Drop the index and the label dates (the expiry they may have set stays)."""
    op.drop_index("ix_products_gtin", table_name="products")
    with op.batch_alter_table("license_plates") as batch:
        batch.drop_column("best_before")
        batch.drop_column("production_date")

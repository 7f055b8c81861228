"""Purchase orders: what suppliers are to deliver, and what has been received against them.

``purchase_orders`` (site, number unique per site, supplier, expected date, status open /
closed / cancelled) and ``purchase_order_lines`` (line, product, qty ordered, uom, qty
received). ``products`` gains ``over_receipt_tolerance`` (null: the plant's default). Existing
receipts keep their PO number as the ledger reference and count against no order.

Revision ID: 0015_purchase_orders
Revises: 0014_edge_scanners
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import Qty, UtcDateTime

revision: str = "0015_purchase_orders"
down_revision: str | None = "0014_edge_scanners"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The statuses as this revision wrote them into the CHECK constraint (history, never edited).
PO_STATUSES = "status IN ('open', 'closed', 'cancelled')"


def upgrade() -> None:
    """Create purchase_orders and purchase_order_lines; a nullable column on products."""
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("over_receipt_tolerance", Qty()))
    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("supplier", sa.String(128), nullable=False),
        sa.Column("expected_date", sa.Date),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.CheckConstraint(PO_STATUSES, name="ck_purchase_orders_status"),
        sa.PrimaryKeyConstraint("id", name="pk_purchase_orders"),
        sa.UniqueConstraint("site", "number", name="uq_purchase_orders_site_number"),
    )
    op.create_index("ix_purchase_orders_site", "purchase_orders", ["site", "status"])
    op.create_table(
        "purchase_order_lines",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("po_id", sa.Integer, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("qty_ordered", Qty, nullable=False),
        sa.Column("uom", sa.String(16), nullable=False),
        sa.Column("qty_received", Qty, nullable=False),
        sa.ForeignKeyConstraint(
            ["po_id"], ["purchase_orders.id"], name="fk_purchase_order_lines_po_id_purchase_orders"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name="fk_purchase_order_lines_product_id_products",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_purchase_order_lines"),
        sa.UniqueConstraint("po_id", "line", name="uq_purchase_order_lines_po_id_line"),
    )


def downgrade() -> None:
    """Drop both tables and the products' receipt tolerance (receipts keep their PO number as
    the ledger reference)."""
    op.drop_table("purchase_order_lines")
    op.drop_index("ix_purchase_orders_site", table_name="purchase_orders")
    op.drop_table("purchase_orders")
    # In place (SQLite 3.35+ drops a plain column itself): a batch would rebuild products,
    # and dropping the old table fails while LPs and ledger rows point at it.
    op.drop_column("products", "over_receipt_tolerance")

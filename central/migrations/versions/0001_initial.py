"""Initial schema: reference data, license plates, the ledger, edges, dedup, conflicts, alarms.

Revision ID: 0001
Revises:
Create Date: 2026-01-15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import Qty, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WO_STATUSES = "status IN ('planned', 'released', 'in_progress', 'completed', 'closed')"
LP_STATUSES = "status IN ('available', 'reserved', 'on_hold', 'consumed', 'shipped')"
MOVE_KINDS = "kind IN ('RECEIPT', 'TRANSFER_OUT', 'TRANSFER_IN', 'CONSUME', 'PRODUCE')"


def upgrade() -> None:
    """Create every table of the first release."""
    op.create_table(
        "products",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("uom", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.UniqueConstraint("code", name="uq_products_code"),
    )
    op.create_table(
        "locations",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_locations"),
        sa.UniqueConstraint("site", "code", name="uq_locations_site_code"),
    )
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("qty_planned", Qty, nullable=False),
        sa.Column("qty_produced", Qty, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.CheckConstraint(WO_STATUSES, name="ck_work_orders_status"),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_work_orders_product_id_products"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_work_orders"),
        sa.UniqueConstraint("number", name="uq_work_orders_number"),
    )
    op.create_table(
        "license_plates",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("qty", Qty, nullable=False),
        sa.Column("uom", sa.String(16), nullable=False),
        sa.Column("lot", sa.String(64)),
        sa.Column("expiry", sa.Date),
        sa.Column("location_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_move_at", UtcDateTime),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by_action", sa.String(36)),
        sa.CheckConstraint(LP_STATUSES, name="ck_license_plates_status"),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name="fk_license_plates_location_id_locations"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_license_plates_product_id_products"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_license_plates"),
        sa.UniqueConstraint("number", name="uq_license_plates_number"),
    )
    op.create_table(
        "stock_moves",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("lp_id", sa.Integer, nullable=False),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("location_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("qty", Qty, nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("action_id", sa.String(36), nullable=False),
        sa.Column("work_order_id", sa.Integer),
        sa.Column("reference", sa.String(64)),
        sa.CheckConstraint(MOVE_KINDS, name="ck_stock_moves_kind"),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name="fk_stock_moves_location_id_locations"
        ),
        sa.ForeignKeyConstraint(
            ["lp_id"], ["license_plates.id"], name="fk_stock_moves_lp_id_license_plates"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_stock_moves_product_id_products"
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"], name="fk_stock_moves_work_order_id_work_orders"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_stock_moves"),
    )
    op.create_index("ix_stock_moves_lp_id", "stock_moves", ["lp_id"])
    op.create_index("ix_stock_moves_action_id", "stock_moves", ["action_id"])
    op.create_index("ix_stock_moves_work_order_id", "stock_moves", ["work_order_id"])
    op.create_table(
        "lp_genealogy",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("parent_lp_id", sa.Integer, nullable=False),
        sa.Column("child_lp_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("action_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_lp_id"],
            ["license_plates.id"],
            name="fk_lp_genealogy_child_lp_id_license_plates",
        ),
        sa.ForeignKeyConstraint(
            ["parent_lp_id"],
            ["license_plates.id"],
            name="fk_lp_genealogy_parent_lp_id_license_plates",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lp_genealogy"),
    )
    op.create_index("ix_lp_genealogy_parent_lp_id", "lp_genealogy", ["parent_lp_id"])
    op.create_index("ix_lp_genealogy_child_lp_id", "lp_genealogy", ["child_lp_id"])
    op.create_table(
        "edges",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("edge_id", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("online", sa.Boolean, nullable=False),
        sa.Column("queue_depth", sa.Integer, nullable=False),
        sa.Column("oldest_pending_ts", sa.String(40)),
        sa.Column("last_ack_seq", sa.BigInteger, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("last_seen", UtcDateTime),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_edges"),
        sa.UniqueConstraint("site", "edge_id", name="uq_edges_site_edge_id"),
    )
    op.create_table(
        "processed_actions",
        sa.Column("action_id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("edge", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64)),
        sa.Column("message", sa.Text),
        sa.Column("conflict_id", sa.Integer),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("via", sa.String(8), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.CheckConstraint("result IN ('applied', 'conflict')", name="ck_processed_actions_result"),
        sa.PrimaryKeyConstraint("action_id", name="pk_processed_actions"),
    )
    op.create_index("ix_processed_actions_site", "processed_actions", ["site", "edge", "seq"])
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("action_id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("edge", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conflicts"),
        sa.UniqueConstraint("action_id", name="uq_conflicts_action_id"),
    )
    op.create_index("ix_conflicts_status", "conflicts", ["status"])
    op.create_table(
        "rejected_actions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("action_id", sa.String(64)),
        sa.Column("site", sa.String(64)),
        sa.Column("edge", sa.String(64)),
        sa.Column("seq", sa.BigInteger),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("via", sa.String(8), nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rejected_actions"),
    )
    op.create_index("ix_rejected_actions_action_id", "rejected_actions", ["action_id"])
    op.create_table(
        "edge_alarms",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("edge", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_edge_alarms"),
    )
    sequences = op.create_table(
        "number_sequences",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("next_value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_number_sequences"),
    )
    op.bulk_insert(sequences, [{"name": "sscc", "next_value": 1}])


def downgrade() -> None:
    """Drop every table (children first)."""
    for table in (
        "number_sequences",
        "edge_alarms",
        "rejected_actions",
        "conflicts",
        "processed_actions",
        "edges",
        "lp_genealogy",
        "stock_moves",
        "license_plates",
        "work_orders",
        "locations",
        "products",
    ):
        op.drop_table(table)

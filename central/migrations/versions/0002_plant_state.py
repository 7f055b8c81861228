"""Plant state: sites on every record, product master data, BOMs, work-order lifecycle,
reservations, LP nesting, quality holds, stock counts, conflict resolution, tokens, audit.

Existing rows are kept: products take the site of the existing locations (or ``default``),
LPs and ledger rows the site of their location, locations become ``storage``, ledger rows
``action``-caused.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import Qty, UtcDateTime

# The value sets as this revision wrote them into CHECK constraints. A revision is history:
# a later change to central/db/enums.py gets a new revision, never an edit of this one.
CONFLICT_STATUSES = ("open", "resolved", "voided")
COUNT_STATUSES = ("open", "approved", "cancelled")
HOLD_STATUSES = ("active", "released")
LOCATION_KINDS = ("receiving", "storage", "production", "shipping", "quality")
MOVE_CAUSES = ("action", "api")
MOVE_KINDS = (
    "RECEIPT",
    "TRANSFER_OUT",
    "TRANSFER_IN",
    "CONSUME",
    "PRODUCE",
    "ADJUST",
    "PICK",
    "SHIP",
    "CORRECTION",
    "SPLIT_OUT",
    "SPLIT_IN",
    "MERGE_OUT",
    "MERGE_IN",
    "RESERVE",
    "RELEASE",
)
PRODUCT_TYPES = ("raw", "intermediate", "finished")
RESERVATION_STATUSES = ("active", "released", "consumed")

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that keeps a column to its known values (as tables.py writes it)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _backfill() -> None:
    """Fill the new NOT NULL columns of existing rows before they become NOT NULL."""
    op.execute(
        "UPDATE products SET site = COALESCE((SELECT min(site) FROM locations), "
        "'default'), type = 'raw', allergens = '[]', allow_merge = false"
    )
    op.execute("UPDATE locations SET kind = 'storage'")
    op.execute(
        "UPDATE license_plates SET site = (SELECT site FROM locations "
        "WHERE locations.id = license_plates.location_id)"
    )
    op.execute(
        "UPDATE stock_moves SET cause = 'action', site = (SELECT site FROM locations "
        "WHERE locations.id = stock_moves.location_id)"
    )


def upgrade() -> None:
    """Add the plant-state tables and columns."""
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("site", sa.String(64)))
        batch.add_column(sa.Column("gtin", sa.String(14)))
        batch.add_column(sa.Column("type", sa.String(16)))
        batch.add_column(sa.Column("shelf_life_days", sa.Integer))
        batch.add_column(sa.Column("allergens", sa.JSON))
        batch.add_column(sa.Column("allow_merge", sa.Boolean))
        batch.add_column(sa.Column("updated_at", UtcDateTime))
    with op.batch_alter_table("locations") as batch:
        batch.add_column(sa.Column("kind", sa.String(16)))
    with op.batch_alter_table("license_plates") as batch:
        batch.add_column(sa.Column("site", sa.String(64)))
        batch.add_column(sa.Column("parent_lp_id", sa.Integer))
    with op.batch_alter_table("stock_moves") as batch:
        batch.add_column(sa.Column("site", sa.String(64)))
        batch.add_column(sa.Column("cause", sa.String(8)))
    _backfill()

    with op.batch_alter_table("products") as batch:
        for column in ("site", "type", "allergens", "allow_merge"):
            batch.alter_column(column, nullable=False)
        batch.drop_constraint("uq_products_code", type_="unique")
        batch.create_unique_constraint("uq_products_site_code", ["site", "code"])
        batch.create_check_constraint("ck_products_type", _one_of("type", PRODUCT_TYPES))
    with op.batch_alter_table("locations") as batch:
        batch.alter_column("kind", nullable=False)
        batch.create_check_constraint("ck_locations_kind", _one_of("kind", LOCATION_KINDS))

    op.create_index("ix_products_code", "products", ["code"])
    op.create_index("ix_locations_code", "locations", ["code"])

    op.create_table(
        "boms",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_boms_product_id_products"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_boms"),
        sa.UniqueConstraint("product_id", "version", name="uq_boms_product_id_version"),
    )
    op.create_table(
        "bom_items",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("bom_id", sa.Integer, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("component_id", sa.Integer, nullable=False),
        sa.Column("qty_per", Qty, nullable=False),
        sa.Column("scrap_factor", Qty, nullable=False),
        sa.Column("consume_whole_lp", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(
            ["bom_id"], ["boms.id"], name="fk_bom_items_bom_id_boms", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["component_id"], ["products.id"], name="fk_bom_items_component_id_products"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bom_items"),
    )
    op.create_index("ix_bom_items_bom_id", "bom_items", ["bom_id"])
    op.create_index("ix_bom_items_component_id", "bom_items", ["component_id"])

    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("bom_id", sa.Integer))
        batch.add_column(sa.Column("due_date", sa.Date))
        for column in ("released_at", "started_at", "completed_at", "closed_at"):
            batch.add_column(sa.Column(column, UtcDateTime))
        batch.create_foreign_key("fk_work_orders_bom_id_boms", "boms", ["bom_id"], ["id"])
        batch.drop_constraint("uq_work_orders_number", type_="unique")
        batch.create_unique_constraint("uq_work_orders_site_number", ["site", "number"])
        batch.create_index("ix_work_orders_site", ["site", "status"])

    op.create_table(
        "work_order_materials",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("work_order_id", sa.Integer, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("component_id", sa.Integer, nullable=False),
        sa.Column("qty_per", Qty, nullable=False),
        sa.Column("scrap_factor", Qty, nullable=False),
        sa.Column("consume_whole_lp", sa.Boolean, nullable=False),
        sa.Column("qty_required", Qty, nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name="fk_work_order_materials_work_order_id_work_orders",
        ),
        sa.ForeignKeyConstraint(
            ["component_id"], ["products.id"], name="fk_work_order_materials_component_id_products"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_work_order_materials"),
    )
    op.create_index(
        "ix_work_order_materials_work_order_id", "work_order_materials", ["work_order_id"]
    )

    with op.batch_alter_table("license_plates") as batch:
        batch.alter_column("site", nullable=False)
        batch.create_foreign_key(
            "fk_license_plates_parent_lp_id_license_plates",
            "license_plates",
            ["parent_lp_id"],
            ["id"],
        )
        batch.create_index("ix_license_plates_parent_lp_id", ["parent_lp_id"])
        batch.create_index("ix_license_plates_product_id", ["product_id", "status", "expiry"])
        batch.create_index("ix_license_plates_location_id", ["location_id", "status"])
        batch.create_index("ix_license_plates_lot", ["lot"])
    with op.batch_alter_table("stock_moves") as batch:
        batch.alter_column("site", nullable=False)
        batch.alter_column("cause", nullable=False)
        batch.drop_constraint("ck_stock_moves_kind", type_="check")
        batch.create_check_constraint("ck_stock_moves_kind", _one_of("kind", MOVE_KINDS))
        batch.create_check_constraint("ck_stock_moves_cause", _one_of("cause", MOVE_CAUSES))
    with op.batch_alter_table("lp_genealogy") as batch:
        batch.add_column(sa.Column("work_order_id", sa.Integer))
        batch.add_column(sa.Column("created_at", UtcDateTime))
        batch.create_foreign_key(
            "fk_lp_genealogy_work_order_id_work_orders", "work_orders", ["work_order_id"], ["id"]
        )
    for column in ("parent_lp_id", "child_lp_id"):  # the recall walk seeks by LP and kind
        op.drop_index(f"ix_lp_genealogy_{column}", table_name="lp_genealogy")
        op.create_index(f"ix_lp_genealogy_{column}", "lp_genealogy", [column, "kind"])

    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("work_order_id", sa.Integer, nullable=False),
        sa.Column("material_id", sa.Integer, nullable=False),
        sa.Column("lp_id", sa.Integer, nullable=False),
        sa.Column("qty", Qty, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("closed_at", UtcDateTime),
        sa.CheckConstraint(_one_of("status", RESERVATION_STATUSES), name="ck_reservations_status"),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"], name="fk_reservations_work_order_id_work_orders"
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["work_order_materials.id"],
            name="fk_reservations_material_id_work_order_materials",
        ),
        sa.ForeignKeyConstraint(
            ["lp_id"], ["license_plates.id"], name="fk_reservations_lp_id_license_plates"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reservations"),
    )
    op.create_index("ix_reservations_work_order_id", "reservations", ["work_order_id"])
    op.create_index("ix_reservations_lp_id", "reservations", ["lp_id"])

    op.create_table(
        "quality_holds",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("lp_id", sa.Integer),
        sa.Column("product_id", sa.Integer),
        sa.Column("lot", sa.String(64)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("held_by", sa.String(64), nullable=False),
        sa.Column("held_at", UtcDateTime, nullable=False),
        sa.Column("hold_cause", sa.String(36), nullable=False),
        sa.Column("released_by", sa.String(64)),
        sa.Column("released_at", UtcDateTime),
        sa.Column("release_reason", sa.Text),
        sa.Column("release_cause", sa.String(36)),
        sa.CheckConstraint(_one_of("status", HOLD_STATUSES), name="ck_quality_holds_status"),
        sa.CheckConstraint("lp_id IS NOT NULL OR lot IS NOT NULL", name="ck_quality_holds_target"),
        sa.ForeignKeyConstraint(
            ["lp_id"], ["license_plates.id"], name="fk_quality_holds_lp_id_license_plates"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_quality_holds_product_id_products"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_quality_holds"),
    )
    op.create_index("ix_quality_holds_lp_id", "quality_holds", ["lp_id"])
    op.create_index("ix_quality_holds_site", "quality_holds", ["site", "status"])
    op.create_index("ix_quality_holds_product_id", "quality_holds", ["product_id", "lot"])

    op.create_table(
        "count_sessions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("location_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("approved_by", sa.String(64)),
        sa.Column("approved_at", UtcDateTime),
        sa.Column("approval_cause", sa.String(36)),
        sa.CheckConstraint(_one_of("status", COUNT_STATUSES), name="ck_count_sessions_status"),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name="fk_count_sessions_location_id_locations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_count_sessions"),
        sa.UniqueConstraint("site", "number", name="uq_count_sessions_site_number"),
    )
    op.create_table(
        "count_lines",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("session_id", sa.Integer, nullable=False),
        sa.Column("lp_number", sa.String(64), nullable=False),
        sa.Column("qty", Qty, nullable=False),
        sa.Column("action_id", sa.String(36), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("counted_at", UtcDateTime, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["count_sessions.id"], name="fk_count_lines_session_id_count_sessions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_count_lines"),
    )
    op.create_index("ix_count_lines_session_id", "count_lines", ["session_id"])

    with op.batch_alter_table("conflicts") as batch:
        batch.add_column(sa.Column("resolution", sa.String(24)))
        batch.add_column(sa.Column("resolution_reason", sa.Text))
        batch.add_column(sa.Column("resolution_body", sa.Text))
        batch.add_column(sa.Column("resolved_by", sa.String(64)))
        batch.add_column(sa.Column("resolved_at", UtcDateTime))
        batch.add_column(sa.Column("resolution_cause", sa.String(36)))
        batch.create_check_constraint("ck_conflicts_status", _one_of("status", CONFLICT_STATUSES))

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("sites", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("revoked_at", UtcDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("name", name="uq_api_tokens_name"),
        sa.UniqueConstraint("token_sha256", name="uq_api_tokens_token_sha256"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(64)),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_site", "audit_log", ["site", "at"])


def downgrade() -> None:
    """Not supported: the ledger and its history only grow (restore a backup instead)."""
    raise NotImplementedError("central migrations are forward-only")

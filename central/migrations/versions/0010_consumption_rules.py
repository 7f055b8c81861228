"""Consumption and output checked against the work order.

BOM lines may name alternative products (``bom_item_alternatives``), copied into a work
order's material snapshot (``material_alternatives``); products may override the
plant's over-consumption and over-production tolerances (nullable: the default applies); a
conflict keeps the figures it was refused with (``conflicts.details``).

Existing rows need no data: no line has alternatives yet, no product overrides a tolerance,
and conflicts stored before keep their message only (``details`` null).

Revision ID: 0010_consumption_rules
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import Qty

revision: str = "0010_consumption_rules"
down_revision: str | None = "0009_output_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Two alternative tables, two tolerance columns on products, details on conflicts."""
    op.create_table(
        "bom_item_alternatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bom_item_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bom_item_id"],
            ["bom_items.id"],
            name="fk_bom_item_alternatives_bom_item_id_bom_items",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name="fk_bom_item_alternatives_product_id_products",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bom_item_alternatives"),
        sa.UniqueConstraint(
            "bom_item_id", "product_id", name="uq_bom_item_alternatives_bom_item_id_product_id"
        ),
    )
    op.create_index(
        "ix_bom_item_alternatives_bom_item_id", "bom_item_alternatives", ["bom_item_id"]
    )
    op.create_index("ix_bom_item_alternatives_product_id", "bom_item_alternatives", ["product_id"])
    op.create_table(
        "material_alternatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["work_order_materials.id"],
            name="fk_material_alternatives_material_id_work_order_materials",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name="fk_material_alternatives_product_id_products",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_material_alternatives"),
        sa.UniqueConstraint(
            "material_id",
            "product_id",
            name="uq_material_alternatives_material_id_product_id",
        ),
    )
    op.create_index(
        "ix_material_alternatives_material_id",
        "material_alternatives",
        ["material_id"],
    )
    op.create_index(
        "ix_material_alternatives_product_id",
        "material_alternatives",
        ["product_id"],
    )
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("over_consumption_tolerance", Qty()))
        batch.add_column(sa.Column("over_production_tolerance", Qty()))
    with op.batch_alter_table("conflicts") as batch:
        batch.add_column(sa.Column("details", sa.JSON()))


def downgrade() -> None:
    """Drop what upgrade added (alternatives, overrides and conflict figures are lost)."""
    with op.batch_alter_table("conflicts") as batch:
        batch.drop_column("details")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("over_production_tolerance")
        batch.drop_column("over_consumption_tolerance")
    op.drop_table("material_alternatives")
    op.drop_table("bom_item_alternatives")

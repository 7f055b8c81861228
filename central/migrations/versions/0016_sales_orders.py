"""Sales orders, pick tasks, shipments and invoices; reservations for order lines.

New tables: ``customers``, ``sales_orders`` and ``sales_order_lines``, ``pick_tasks``,
``shipments`` with ``shipment_orders`` and ``shipment_lps``, ``invoices`` and
``invoice_lines``, ``tracking_events`` (carrier updates, unique per carrier event id) and
``site_settings``. ``reservations`` now belong to a work order material or to a sales order
line (exactly one; existing rows are all work orders'). ``purchase_orders`` gain the sales
order they serve, their normalized number (what shipments are matched by) and a source hash;
existing orders get their normalized number filled in.

Revision ID: 0016_sales_orders
Revises: 0015_purchase_orders
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import Qty, UtcDateTime

revision: str = "0016_sales_orders"
down_revision: str | None = "0015_purchase_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The closed sets as this revision wrote them into CHECK constraints (history, never edited).
SO_STATUSES = (
    "status IN ('open', 'released', 'picking', 'picked', 'shipped', 'invoiced', 'cancelled')"
)
INVOICE_STATUSES = "invoice_status IN ('none', 'partial', 'invoiced')"
SO_LINE_STATUSES = "status IN ('open', 'released', 'picked', 'shipped', 'cancelled')"
TASK_STATUSES = "status IN ('open', 'done', 'cancelled')"
SHIPMENT_STATUSES = (
    "status IN ('planned', 'loading', 'dispatched', 'in_transit', 'delivered', 'exception',"
    " 'cancelled')"
)
RESERVATION_OWNER = (
    "(work_order_id IS NOT NULL AND material_id IS NOT NULL AND order_line_id IS NULL)"
    " OR (work_order_id IS NULL AND material_id IS NULL AND order_line_id IS NOT NULL)"
)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, nullable=False)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """A foreign key named as central.db.tables.NAMING names it."""
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    """Create the order tables, widen reservations to order lines, extend purchase orders."""
    op.create_table(
        "customers",
        _id(),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("last_delivery_at", UtcDateTime),
        sa.Column("last_delivery_shipment_id", sa.Integer),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("site", "code", name="uq_customers_site_code"),
    )
    op.create_table(
        "sales_orders",
        _id(),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("external_number", sa.String(64)),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("customer_ref", sa.String(64)),
        sa.Column("due_date", sa.Date),
        sa.Column("route", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("invoice_status", sa.String(16), nullable=False),
        sa.Column("approval_status", sa.String(32)),
        sa.Column("excluded", sa.Boolean, nullable=False),
        sa.Column("source_hash", sa.String(64)),
        sa.Column("synced_at", UtcDateTime),
        sa.Column("shipment_count", sa.Integer, nullable=False),
        sa.Column("latest_shipment_status", sa.String(16)),
        sa.Column("po_count", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("released_at", UtcDateTime),
        sa.Column("shipped_at", UtcDateTime),
        sa.Column("invoiced_at", UtcDateTime),
        sa.Column("cancelled_at", UtcDateTime),
        sa.Column("cancel_reason", sa.Text),
        sa.CheckConstraint(SO_STATUSES, name="ck_sales_orders_status"),
        sa.CheckConstraint(INVOICE_STATUSES, name="ck_sales_orders_invoice_status"),
        _fk("sales_orders", "customer_id", "customers"),
        sa.PrimaryKeyConstraint("id", name="pk_sales_orders"),
        sa.UniqueConstraint("site", "number", name="uq_sales_orders_site_number"),
        sa.UniqueConstraint("site", "external_number", name="uq_sales_orders_site_external_number"),
    )
    op.create_index("ix_sales_orders_customer_id", "sales_orders", ["customer_id"])
    op.create_index("ix_sales_orders_site", "sales_orders", ["site", "status"])
    # Named as NAMING names a second unnamed index on the same first column would collide;
    # tables.py gives it this name explicitly.
    op.create_index("ix_sales_orders_site_due_date", "sales_orders", ["site", "due_date"])
    op.create_table(
        "sales_order_lines",
        _id(),
        sa.Column("order_id", sa.Integer, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("qty", Qty, nullable=False),
        sa.Column("uom", sa.String(16), nullable=False),
        sa.Column("unit_price", Qty, nullable=False),
        sa.Column("due_date", sa.Date),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("qty_short", Qty, nullable=False),
        sa.Column("qty_picked", Qty, nullable=False),
        sa.Column("qty_shipped", Qty, nullable=False),
        sa.Column("qty_invoiced", Qty, nullable=False),
        sa.CheckConstraint(SO_LINE_STATUSES, name="ck_sales_order_lines_status"),
        _fk("sales_order_lines", "order_id", "sales_orders"),
        _fk("sales_order_lines", "product_id", "products"),
        sa.PrimaryKeyConstraint("id", name="pk_sales_order_lines"),
        sa.UniqueConstraint("order_id", "line", name="uq_sales_order_lines_order_id_line"),
    )
    with op.batch_alter_table("purchase_orders") as batch:
        batch.add_column(sa.Column("order_id", sa.Integer))
        batch.add_column(sa.Column("normalized_number", sa.String(64)))
        batch.add_column(sa.Column("source_hash", sa.String(64)))
        batch.create_foreign_key(
            "fk_purchase_orders_order_id_sales_orders", "sales_orders", ["order_id"], ["id"]
        )
        batch.create_index("ix_purchase_orders_order_id", ["order_id"])
        batch.create_index(
            "ix_purchase_orders_site_normalized_number", ["site", "normalized_number"]
        )
    with op.batch_alter_table("reservations") as batch:
        batch.add_column(sa.Column("order_line_id", sa.Integer))
        batch.alter_column("work_order_id", existing_type=sa.Integer, nullable=True)
        batch.alter_column("material_id", existing_type=sa.Integer, nullable=True)
        batch.create_foreign_key(
            "fk_reservations_order_line_id_sales_order_lines",
            "sales_order_lines",
            ["order_line_id"],
            ["id"],
        )
        batch.create_index("ix_reservations_order_line_id", ["order_line_id"])
        batch.create_check_constraint("owner", RESERVATION_OWNER)
    op.create_table(
        "pick_tasks",
        _id(),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("wave", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("order_id", sa.Integer, nullable=False),
        sa.Column("order_line_id", sa.Integer, nullable=False),
        sa.Column("reservation_id", sa.Integer),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("lp_id", sa.Integer, nullable=False),
        sa.Column("location_id", sa.Integer, nullable=False),
        sa.Column("to_location_id", sa.Integer, nullable=False),
        sa.Column("qty", Qty, nullable=False),
        sa.Column("qty_picked", Qty, nullable=False),
        sa.Column("picked_lp_id", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(64)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("done_at", UtcDateTime),
        sa.Column("action_id", sa.String(36)),
        sa.CheckConstraint(TASK_STATUSES, name="ck_pick_tasks_status"),
        _fk("pick_tasks", "order_id", "sales_orders"),
        _fk("pick_tasks", "order_line_id", "sales_order_lines"),
        _fk("pick_tasks", "reservation_id", "reservations"),
        _fk("pick_tasks", "product_id", "products"),
        _fk("pick_tasks", "lp_id", "license_plates"),
        _fk("pick_tasks", "location_id", "locations"),
        _fk("pick_tasks", "to_location_id", "locations"),
        _fk("pick_tasks", "picked_lp_id", "license_plates"),
        sa.PrimaryKeyConstraint("id", name="pk_pick_tasks"),
        sa.UniqueConstraint("site", "number", name="uq_pick_tasks_site_number"),
    )
    op.create_index("ix_pick_tasks_order_id", "pick_tasks", ["order_id"])
    op.create_index("ix_pick_tasks_site", "pick_tasks", ["site", "status", "sequence"])
    op.create_table(
        "shipments",
        _id(),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("carrier", sa.String(64)),
        sa.Column("tracking_number", sa.String(128)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("planned_date", sa.Date),
        sa.Column("po_number", sa.String(64)),
        sa.Column("po_id", sa.Integer),
        sa.Column("short_ship_reason", sa.Text),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("status_at", UtcDateTime),
        sa.Column("dispatched_at", UtcDateTime),
        sa.Column("delivered_at", UtcDateTime),
        sa.CheckConstraint(SHIPMENT_STATUSES, name="ck_shipments_status"),
        _fk("shipments", "po_id", "purchase_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_shipments"),
        sa.UniqueConstraint("site", "number", name="uq_shipments_site_number"),
    )
    op.create_index("ix_shipments_po_id", "shipments", ["po_id"])
    op.create_index("ix_shipments_site", "shipments", ["site", "status"])
    op.create_index("ix_shipments_tracking_number", "shipments", ["tracking_number"])
    op.create_table(
        "shipment_orders",
        _id(),
        sa.Column("shipment_id", sa.Integer, nullable=False),
        sa.Column("order_id", sa.Integer, nullable=False),
        _fk("shipment_orders", "shipment_id", "shipments"),
        _fk("shipment_orders", "order_id", "sales_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_shipment_orders"),
        sa.UniqueConstraint(
            "shipment_id", "order_id", name="uq_shipment_orders_shipment_id_order_id"
        ),
    )
    op.create_index("ix_shipment_orders_order_id", "shipment_orders", ["order_id"])
    op.create_table(
        "shipment_lps",
        _id(),
        sa.Column("shipment_id", sa.Integer, nullable=False),
        sa.Column("lp_id", sa.Integer, nullable=False),
        sa.Column("order_line_id", sa.Integer),
        sa.Column("qty", Qty, nullable=False),
        sa.Column("qty_shipped", Qty),
        sa.Column("loaded_at", UtcDateTime, nullable=False),
        sa.Column("action_id", sa.String(36), nullable=False),
        _fk("shipment_lps", "shipment_id", "shipments"),
        _fk("shipment_lps", "lp_id", "license_plates"),
        _fk("shipment_lps", "order_line_id", "sales_order_lines"),
        sa.PrimaryKeyConstraint("id", name="pk_shipment_lps"),
        sa.UniqueConstraint("shipment_id", "lp_id", name="uq_shipment_lps_shipment_id_lp_id"),
    )
    op.create_index("ix_shipment_lps_lp_id", "shipment_lps", ["lp_id"])
    op.create_index("ix_shipment_lps_order_line_id", "shipment_lps", ["order_line_id"])
    op.create_table(
        "invoices",
        _id(),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("order_id", sa.Integer, nullable=False),
        sa.Column("shipment_id", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("total", Qty, nullable=False),
        sa.Column("issued_at", UtcDateTime, nullable=False),
        _fk("invoices", "order_id", "sales_orders"),
        _fk("invoices", "shipment_id", "shipments"),
        _fk("invoices", "customer_id", "customers"),
        sa.PrimaryKeyConstraint("id", name="pk_invoices"),
        sa.UniqueConstraint("site", "number", name="uq_invoices_site_number"),
    )
    op.create_index("ix_invoices_order_id", "invoices", ["order_id"])
    op.create_index("ix_invoices_site", "invoices", ["site", "issued_at"])
    op.create_table(
        "invoice_lines",
        _id(),
        sa.Column("invoice_id", sa.Integer, nullable=False),
        sa.Column("order_line_id", sa.Integer, nullable=False),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("qty", Qty, nullable=False),
        sa.Column("uom", sa.String(16), nullable=False),
        sa.Column("unit_price", Qty, nullable=False),
        sa.Column("amount", Qty, nullable=False),
        _fk("invoice_lines", "invoice_id", "invoices"),
        _fk("invoice_lines", "order_line_id", "sales_order_lines"),
        _fk("invoice_lines", "product_id", "products"),
        sa.PrimaryKeyConstraint("id", name="pk_invoice_lines"),
    )
    op.create_index("ix_invoice_lines_invoice_id", "invoice_lines", ["invoice_id"])
    op.create_table(
        "tracking_events",
        _id(),
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("shipment_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("occurred_at", UtcDateTime),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        _fk("tracking_events", "shipment_id", "shipments"),
        sa.PrimaryKeyConstraint("id", name="pk_tracking_events"),
        sa.UniqueConstraint("carrier", "event_id", name="uq_tracking_events_carrier_event_id"),
    )
    op.create_table(
        "site_settings",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("auto_release", sa.Boolean, nullable=False),
        sa.Column("auto_release_wave", sa.String(8), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.CheckConstraint(
            "auto_release_wave IN ('route', 'day')", name="ck_site_settings_auto_release_wave"
        ),
        sa.PrimaryKeyConstraint("site", name="pk_site_settings"),
    )
    # Existing purchase orders are matched by their number as written until a sync or an
    # edit normalizes it (central/orders/po_numbers.py applies the full rules).
    op.execute("UPDATE purchase_orders SET normalized_number = UPPER(TRIM(number))")


def downgrade() -> None:
    """Drop the order tables; reservations go back to work orders only (order lines' are
    deleted first), purchase orders lose their order link. Like every migration, run with
    SQLite's foreign keys off: the batches rebuild tables other rows point at."""
    for table in (
        "site_settings",
        "tracking_events",
        "invoice_lines",
        "invoices",
        "shipment_lps",
        "shipment_orders",
        "shipments",
        "pick_tasks",
    ):
        op.drop_table(table)
    op.execute("DELETE FROM reservations WHERE order_line_id IS NOT NULL")
    with op.batch_alter_table("reservations") as batch:
        batch.drop_constraint("owner", type_="check")
        batch.drop_index("ix_reservations_order_line_id")
        batch.drop_constraint("fk_reservations_order_line_id_sales_order_lines", type_="foreignkey")
        batch.drop_column("order_line_id")
        batch.alter_column("work_order_id", existing_type=sa.Integer, nullable=False)
        batch.alter_column("material_id", existing_type=sa.Integer, nullable=False)
    with op.batch_alter_table("purchase_orders") as batch:
        batch.drop_index("ix_purchase_orders_site_normalized_number")
        batch.drop_index("ix_purchase_orders_order_id")
        batch.drop_constraint("fk_purchase_orders_order_id_sales_orders", type_="foreignkey")
        batch.drop_column("source_hash")
        batch.drop_column("normalized_number")
        batch.drop_column("order_id")
    op.drop_table("sales_order_lines")
    op.drop_table("sales_orders")
    op.drop_table("customers")

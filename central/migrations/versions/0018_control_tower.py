"""Indexes the control tower reads through.

Each score counts the records of a window of days: pick confirmations by central's receive
time, shipments by dispatch time, work orders by completion time. Without these indexes each
count read every row of its table for the site (on a plant-scale history, every processed
action: seconds). ``processed_actions`` gets (type, received_at, site, result), which answers
the pick score from the index alone; ``shipments.dispatched_at`` and
``work_orders.completed_at`` get one each. The LPs' (location_id, status) index gains
uom, expiry and qty, so the topology sums every on-hand LP of a site from the index alone
(the table's rows are ten times wider) and without a sort.

Revision ID: 0018_control_tower
Revises: 0017_order_sync_runs
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018_control_tower"
down_revision: str | None = "0017_order_sync_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


LP_PLACE = "ix_license_plates_location_id"


def upgrade() -> None:
    """Three new indexes and a wider one; no table is rewritten."""
    op.create_index(
        "ix_processed_actions_type_received_at",
        "processed_actions",
        ["type", "received_at", "site", "result"],
    )
    op.create_index("ix_shipments_dispatched_at", "shipments", ["dispatched_at"])
    op.create_index("ix_work_orders_completed_at", "work_orders", ["completed_at"])
    op.drop_index(LP_PLACE, table_name="license_plates")
    op.create_index(LP_PLACE, "license_plates", ["location_id", "status", "uom", "expiry", "qty"])


def downgrade() -> None:
    """Drop them; the LPs' place index as it was."""
    op.drop_index(LP_PLACE, table_name="license_plates")
    op.create_index(LP_PLACE, "license_plates", ["location_id", "status"])
    op.drop_index("ix_work_orders_completed_at", table_name="work_orders")
    op.drop_index("ix_shipments_dispatched_at", table_name="shipments")
    op.drop_index("ix_processed_actions_type_received_at", table_name="processed_actions")

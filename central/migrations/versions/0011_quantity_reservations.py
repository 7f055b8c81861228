"""Reservations hold quantities, not LPs; work orders can be cancelled.

An LP no longer takes the status ``reserved``: what is reserved of it is the sum of its active
reservations. Existing ``reserved`` LPs become ``available`` again and keep their reservation
rows (nothing is given back). ``work_orders.status`` gains ``cancelled``, with the time and
the reason of the cancellation.

Revision ID: 0011_quantity_reservations
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import UtcDateTime

# The value sets as this revision writes them into CHECK constraints (history: never edited).
LP_STATUSES = ("available", "on_hold", "consumed", "shipped")
WO_STATUSES = ("planned", "released", "in_progress", "completed", "closed", "cancelled")
# ... and as the revisions before this one wrote them, for the downgrade.
OLD_LP_STATUSES = ("available", "reserved", "on_hold", "consumed", "shipped")
OLD_WO_STATUSES = ("planned", "released", "in_progress", "completed", "closed")

revision: str = "0011_quantity_reservations"
down_revision: str | None = "0010_consumption_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that keeps a column to its known values (as tables.py writes it)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _status_check(table: str) -> str:
    """The name the status CHECK of ``table`` has in this database: earlier SQLite table
    rebuilds named it after the naming convention twice, so it is looked up, not assumed."""
    for check in sa.inspect(op.get_bind()).get_check_constraints(table):
        if check["name"] and "status" in check["sqltext"]:
            return str(check["name"])
    raise RuntimeError(f"{table} has no status CHECK constraint")


def _checks(lp_statuses: tuple[str, ...], wo_statuses: tuple[str, ...]) -> None:
    """Rewrite the two status CHECK constraints."""
    for table, values in (("license_plates", lp_statuses), ("work_orders", wo_statuses)):
        name = _status_check(table)
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(name), type_="check")
            batch.create_check_constraint(op.f(f"ck_{table}_status"), _one_of("status", values))


def upgrade() -> None:
    """Reserved LPs become available (their reservations stay active), then the CHECKs."""
    op.execute("UPDATE license_plates SET status = 'available' WHERE status = 'reserved'")
    _checks(LP_STATUSES, WO_STATUSES)
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("cancelled_at", UtcDateTime()))
        batch.add_column(sa.Column("cancel_reason", sa.Text()))


def downgrade() -> None:
    """LPs with an active reservation are ``reserved`` again; cancelled orders cannot stay,
    so they go back to ``closed`` (they hold no reservation)."""
    _checks(OLD_LP_STATUSES, WO_STATUSES)  # both LP sets allowed while the rows change
    op.execute("UPDATE work_orders SET status = 'closed' WHERE status = 'cancelled'")
    op.execute(
        "UPDATE license_plates SET status = 'reserved' WHERE status = 'available' AND id IN "
        "(SELECT lp_id FROM reservations WHERE status = 'active')"
    )
    _checks(OLD_LP_STATUSES, OLD_WO_STATUSES)
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_at")

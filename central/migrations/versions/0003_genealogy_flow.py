"""Genealogy links point the way material goes: ``from_lp_id -> to_lp_id``.

Until now a PACK link ran from the container to the LP packed into it, against the other
kinds (SPLIT, PRODUCE, MERGE run from what was used to what it went into), so every step of a
recall walk had to seek two indexes and pick the far end per kind. Now a carton's PACK link
runs from the carton to the pallet it went onto, like a merge, and a trace is one seek per
LP on an index that holds the whole link (far end, kind, work order, action, time, id): the
walk never reads the table.
Measured on a 238,822-link history (docs/benchmarks.md).

Existing PACK links are turned round; no link is lost or added.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RENAMED = {"parent_lp_id": "from_lp_id", "child_lp_id": "to_lp_id"}
# What a trace shows of a link besides its ends: in the index too, so the walk reads no table.
_TRACED = ("kind", "work_order_id", "action_id", "created_at")


def upgrade() -> None:
    """Rename the two ends, turn PACK links round, and index each end with the other."""
    for old in _RENAMED:
        op.drop_index(f"ix_lp_genealogy_{old}", table_name="lp_genealogy")
    with op.batch_alter_table("lp_genealogy") as batch:
        for old, new in _RENAMED.items():
            batch.drop_constraint(f"fk_lp_genealogy_{old}_license_plates", type_="foreignkey")
            batch.alter_column(old, new_column_name=new)
    # A second pass: SQLite's table rebuild drops a key made on a column renamed in the same one.
    with op.batch_alter_table("lp_genealogy") as batch:
        for new in _RENAMED.values():
            batch.create_foreign_key(
                f"fk_lp_genealogy_{new}_license_plates", "license_plates", [new], ["id"]
            )
    links = sa.table(
        "lp_genealogy",
        sa.column("from_lp_id", sa.Integer),
        sa.column("to_lp_id", sa.Integer),
        sa.column("kind", sa.String),
    )
    # Both sides of SET read the row as it was, on SQLite and PostgreSQL alike: a swap.
    op.execute(
        links.update()
        .where(links.c.kind == "PACK")
        .values(from_lp_id=links.c.to_lp_id, to_lp_id=links.c.from_lp_id)
    )
    for near, far in (("from_lp_id", "to_lp_id"), ("to_lp_id", "from_lp_id")):
        op.create_index(
            f"ix_lp_genealogy_{near}",
            "lp_genealogy",
            [near, far, *_TRACED],
            postgresql_include=["id"],
        )


def downgrade() -> None:
    """Not supported: the ledger and its history only grow (restore a backup instead)."""
    raise NotImplementedError("central migrations are forward-only")

"""Count sessions declare their scope: a full location count or a partial one.

``count_sessions.scope`` is ``full`` (LPs booked at the location and not counted are zeroed at
approval) or ``partial`` (they are left alone). Existing sessions become ``partial``; an open
one keeps counting and is approved as a partial count.

Revision ID: 0012_count_scope
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_count_scope"
down_revision: str | None = "0011_quantity_reservations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the column, make existing sessions partial, then require it and check its values."""
    with op.batch_alter_table("count_sessions") as batch:
        batch.add_column(sa.Column("scope", sa.String(16), nullable=True))
    op.execute("UPDATE count_sessions SET scope = 'partial'")
    with op.batch_alter_table("count_sessions") as batch:
        batch.alter_column(
            "scope", existing_type=sa.String(16), nullable=False, server_default="partial"
        )
        # The values as this revision writes them: a later change to the set is a new revision.
        batch.create_check_constraint("ck_count_sessions_scope", "scope IN ('full', 'partial')")


def downgrade() -> None:
    """Drop the scope (every session is then approved as the old code did: uncounted LPs at
    the location are zeroed)."""
    with op.batch_alter_table("count_sessions") as batch:
        batch.drop_constraint("ck_count_sessions_scope", type_="check")
        batch.drop_column("scope")

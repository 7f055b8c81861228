"""Security events: refused signatures, wrong or revoked edges, failed logins and token
misuse, one row per (kind, source, site, edge, subject) with a count, so a flood of the same
refusal stays one row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The kinds as this revision wrote them into the CHECK constraint (history, never edited).
SECURITY_KINDS = (
    "kind IN ('BAD_SIGNATURE', 'WRONG_EDGE', 'EDGE_REVOKED', 'LOGIN_FAILED', 'TOKEN_MISUSE')"
)


def upgrade() -> None:
    """Create security_events."""
    op.create_table(
        "security_events",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("site", sa.String(64)),
        sa.Column("edge", sa.String(64)),
        sa.Column("subject", sa.String(64)),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("first_seen", UtcDateTime, nullable=False),
        sa.Column("last_seen", UtcDateTime, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.CheckConstraint(SECURITY_KINDS, name="ck_security_events_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_security_events"),
        sa.UniqueConstraint("fingerprint", name="uq_security_events_fingerprint"),
    )
    op.create_index("ix_security_events_last_seen", "security_events", ["last_seen"])
    op.create_index("ix_security_events_site", "security_events", ["site", "last_seen"])


def downgrade() -> None:
    """Not supported: central migrations are forward-only (restore a backup instead)."""
    raise NotImplementedError("central migrations are forward-only")

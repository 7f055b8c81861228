"""Tokens can expire, and LP numbers are unique per site instead of across every site.

``api_tokens.expires_at``: a token past it is refused (401, saying it expired); existing
tokens get none and keep working.

``license_plates``: ``(site, number)`` unique replaces ``number`` unique, so one plant cannot
take (squat) an LP number another plant uses or will use. No row changes; every number
unique across sites is unique per site too.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db.types import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the token expiry; LP numbers unique per site."""
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", UtcDateTime, nullable=True))
    with op.batch_alter_table("license_plates") as batch:
        batch.drop_constraint("uq_license_plates_number", type_="unique")
        batch.create_unique_constraint("uq_license_plates_site_number", ["site", "number"])
    op.create_index("ix_license_plates_number", "license_plates", ["number"])


def downgrade() -> None:
    """Back to numbers unique across sites (fails while two sites share a number)."""
    op.drop_index("ix_license_plates_number", table_name="license_plates")
    with op.batch_alter_table("license_plates") as batch:
        batch.drop_constraint("uq_license_plates_site_number", type_="unique")
        batch.create_unique_constraint("uq_license_plates_number", ["number"])
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")

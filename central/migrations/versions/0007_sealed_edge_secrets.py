"""Edge secrets sealed under the master key; key versions, a rotation overlap, revocation.

Existing edges keep their secrets (so nothing already queued at an edge is refused after the
upgrade): each is sealed with AES-256-GCM under the key central derives from its master key,
and the clear column is dropped. Sealing needs the master key only when edges exist; it is
handed in by ``central.db.migrate.upgrade`` (``ioe db upgrade``, central start).

On SQLite the rebuilt table's old pages are zeroed (secure_delete), so the clear secrets do
not linger in the file's free pages. On PostgreSQL the old row versions stay on disk until
VACUUM reclaims them (docs/security.md: run ``VACUUM FULL edges`` after the upgrade).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from central.db.types import UtcDateTime
from central.edges.sealing import EdgeSecretBox
from central.errors import MigrationError

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the new columns, seal every existing secret, drop the clear column."""
    bind = op.get_bind()
    with op.batch_alter_table("edges") as batch:
        batch.add_column(sa.Column("secret_sealed", sa.String(255)))
        batch.add_column(sa.Column("key_version", sa.Integer()))
        batch.add_column(sa.Column("previous_secret_sealed", sa.String(255)))
        batch.add_column(sa.Column("previous_key_version", sa.Integer()))
        batch.add_column(sa.Column("previous_valid_until", UtcDateTime()))
        batch.add_column(sa.Column("rotated_at", UtcDateTime()))
        batch.add_column(sa.Column("revoked_at", UtcDateTime()))
    edges = sa.table(
        "edges",
        sa.column("id", sa.Integer),
        sa.column("site", sa.String),
        sa.column("edge_id", sa.String),
        sa.column("secret", sa.String),
        sa.column("secret_sealed", sa.String),
        sa.column("key_version", sa.Integer),
    )
    rows = bind.execute(sa.select(edges.c.id, edges.c.site, edges.c.edge_id, edges.c.secret)).all()
    if rows:
        master = context.config.attributes.get("master_key")
        if master is None:
            raise MigrationError(
                f"{len(rows)} registered edge(s) have secrets to seal and no master key was "
                "given: run `ioe db upgrade` (or start central) with IOE_MASTER_KEY or "
                "IOE_MASTER_KEY_FILE set, the same key central runs with"
            )
        box = EdgeSecretBox(master)
        for row in rows:
            sealed = box.seal(row.secret, site=row.site, edge_id=row.edge_id, version=1)
            bind.execute(
                sa.update(edges)
                .where(edges.c.id == row.id)
                .values(secret_sealed=sealed, key_version=1)
            )
    if bind.dialect.name == "sqlite":
        # Pages freed from here on (the old table, with the clear secrets) are zeroed.
        bind.exec_driver_sql("PRAGMA secure_delete = ON")
    with op.batch_alter_table("edges") as batch:
        batch.alter_column("secret_sealed", existing_type=sa.String(255), nullable=False)
        batch.alter_column("key_version", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("secret")
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("PRAGMA secure_delete = OFF")


def downgrade() -> None:
    """Not supported: edge secrets are never put back in clear."""
    raise NotImplementedError("central migrations are forward-only")

"""An output links to every LP consumed on its work order before it.

Until now an output's PRODUCE links named only the LPs consumed since the work order's
previous output, so when material was consumed once and several outputs followed (one dough
batch, many cartons) the later outputs had no parents and a recall from the raw lot missed
them. The rule is now conservative: a recall may include too much, never too little.

Existing outputs get the links the new rule would have made: for each PRODUCE ledger row,
every LP with a CONSUME row on the same work order written before it (a lower ledger id),
unless that link is there already. A new link carries the output's action id, work order
and time (the PRODUCE row's ``recorded_at``, as central stamps the links it writes). One
set-based statement, the same on SQLite and PostgreSQL; no link is changed or removed.

Revision ID: 0009_output_links
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_output_links"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Grouped rather than DISTINCT (an LP consumed on the work order several times is one
# parent) so the links can go in the order the output would have written them: by output,
# then by each input's first consumption.
ADD_OUTPUT_LINKS = """
INSERT INTO lp_genealogy (from_lp_id, to_lp_id, kind, action_id, work_order_id, created_at)
SELECT used.lp_id, made.lp_id, 'PRODUCE', made.action_id, made.work_order_id, made.recorded_at
FROM stock_moves AS made
JOIN stock_moves AS used
  ON used.work_order_id = made.work_order_id
 AND used.kind = 'CONSUME'
 AND used.id < made.id
WHERE made.kind = 'PRODUCE'
  AND NOT EXISTS (
    SELECT 1 FROM lp_genealogy AS known
    WHERE known.from_lp_id = used.lp_id
      AND known.to_lp_id = made.lp_id
      AND known.kind = 'PRODUCE'
  )
GROUP BY made.id, made.lp_id, made.action_id, made.work_order_id, made.recorded_at, used.lp_id
ORDER BY made.id, min(used.id)
"""


def upgrade() -> None:
    """Add every missing PRODUCE link from an input to a later output of its work order."""
    op.execute(ADD_OUTPUT_LINKS)


def downgrade() -> None:
    """Nothing to undo: the code before this revision reads the added links as they are (a
    recall that finds more is still right), and links written after the upgrade by the new
    rule look the same as the ones added here, so removing "the added ones" could only guess."""

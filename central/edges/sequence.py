"""Each edge's seq as batches arrive: the highest seen, and an alarm when one skips.

An edge numbers its actions gap-free, so a seq past the next expected one means actions were
lost on the device; central raises a SEQ_GAP alarm naming the missing range.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import edge_alarms, edges
from central.edges.registry import EdgeRecord


@dataclass
class SeqTracker:
    """The seqs one batch used, per edge, and the alarms they raised; written with the batch."""

    seqs: dict[int, int] = field(default_factory=dict)
    alarms: list[dict[str, Any]] = field(default_factory=list)

    def track(self, edge: EdgeRecord, seq: int) -> None:
        """Follow an edge's seq; a jump past the next expected one raises a SEQ_GAP alarm."""
        last = self.seqs.get(edge.id, edge.last_seq)
        if seq > last + 1:
            self.alarms.append(
                {
                    "site": edge.site,
                    "edge": edge.edge_id,
                    "kind": "SEQ_GAP",
                    "detail": f"seq jumped from {last} to {seq}: {seq - last - 1} action(s) "
                    f"({last + 1}..{seq - 1}) never reached central",
                }
            )
        self.seqs[edge.id] = max(last, seq)

    async def write(self, conn: AsyncConnection, *, at: datetime) -> None:
        """Store the alarms and each edge's highest seq, inside the batch's transaction."""
        if self.alarms:
            await conn.execute(
                insert(edge_alarms), [{**alarm, "created_at": at} for alarm in self.alarms]
            )
        for edge_id, seq in self.seqs.items():
            await conn.execute(
                update(edges)
                .where(edges.c.id == edge_id, edges.c.last_seq < seq)
                .values(last_seq=seq)
            )

"""Which of the edge's unacked actions name an LP (or a lot): an index kept beside the queue.

A lookup shows an LP with this edge's unacked actions on it applied. Finding them by reading
every unacked envelope costs a backlog's length per lookup (tens of milliseconds for a
shift's worth queued offline), so this index maps each value an action's body names to the
actions' seqs. It is memory only, read from the queue: on first use every unacked action,
after that only those added since (seqs only grow). An action acked since it was indexed is
dropped when a lookup finds it final.
"""

from __future__ import annotations

import json
from typing import Any

from edge.queue import ActionQueue


def named_values(body: Any) -> set[str]:
    """The strings an action body names: its fields, and those of its list items (a count's
    LPs)."""
    found: set[str] = set()
    if not isinstance(body, dict):
        return found
    for value in body.values():
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            for entry in value:
                if isinstance(entry, dict):
                    found.update(v for v in entry.values() if isinstance(v, str))
    return found


class PendingIndex:
    """Value -> seqs of the unacked actions that name it."""

    def __init__(self, queue: ActionQueue) -> None:
        self.queue = queue
        self._seqs: dict[str, set[int]] = {}
        self._last = 0

    async def mentioning(self, values: list[str]) -> list[dict[str, Any]]:
        """Envelopes of the unacked actions naming any of ``values``, in seq order."""
        for seq, envelope in await self.queue.open_since(self._last):
            self._last = max(self._last, seq)
            body = json.loads(envelope).get("body")
            for value in named_values(body):
                self._seqs.setdefault(value, set()).add(seq)
        wanted = sorted({seq for value in values for seq in self._seqs.get(value, ())})
        rows = await self.queue.open_of(wanted)
        still = {seq for seq, _ in rows}
        for value in values:
            seqs = self._seqs.get(value)
            if seqs is not None:
                seqs &= still  # the others were acked: final, never open again
                if not seqs:
                    del self._seqs[value]
        return [json.loads(envelope) for _, envelope in rows]

"""What central turned away or did not keep to stay bounded, counted per process.

Nothing here is stored: a flood is described by these counts (``GET /api/v1/security/drops``,
and a log line while drops happen), not by a row per message.
"""

from dataclasses import asdict, dataclass


@dataclass
class DropCounters:
    """Counts since the process started."""

    # MQTT messages from unregistered edges over their per-topic rate.
    ingest_rate_limited: int = 0
    # MQTT messages of unregistered edges dropped because their shared lane was full.
    ingest_lane_full: int = 0
    # Messages on a registered edge's topic beyond its lane's queue (the edge resends).
    edge_lane_full: int = 0
    # Per-edge lanes closed after sitting idle.
    lanes_reclaimed: int = 0
    # Refused envelopes not stored because rejected_actions was at its cap.
    rejected_not_kept: int = 0
    # Stored refusals deleted for age or to make room.
    rejected_pruned: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name."""
        return asdict(self)

    def total(self) -> int:
        """Everything dropped (reclaimed lanes are not drops)."""
        return sum(v for k, v in asdict(self).items() if k != "lanes_reclaimed")

"""What central turned away or did not keep to stay bounded, counted per process.

Nothing here is stored: a flood is described by these counts (``GET /api/v1/security/drops``,
and a log line for every interval in which something was dropped), not by a row per message.
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
        return dropped(self.as_dict())

    def report(self, before: dict[str, int], seconds: float) -> tuple[dict[str, int], str | None]:
        """The counts now, and a line saying what was dropped since ``before`` (the counts
        of the last report) and since start; None when nothing was dropped in between.

        Totals alone read like the last interval's counts, so the line gives both.
        """
        now = self.as_dict()
        new = {name: count - before.get(name, 0) for name, count in now.items()}
        if dropped(new) <= 0:
            return now, None
        recent = ", ".join(f"{n} {c}" for n, c in new.items() if c and n != "lanes_reclaimed")
        totals = ", ".join(f"{n} {c}" for n, c in now.items())
        return now, (
            f"{dropped(new)} dropped in the last {seconds:.0f} s ({recent}); "
            f"since start: {dropped(now)} dropped ({totals})"
        )


def dropped(counts: dict[str, int]) -> int:
    """The drops among counts by name (reclaimed lanes are not drops)."""
    return sum(count for name, count in counts.items() if name != "lanes_reclaimed")

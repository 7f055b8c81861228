"""/queue: depth, oldest pending action, last ack, connectivity and the backlog warning."""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from edge.api.deps import ConfigDep, LinkStatusDep, QueueDep
from edge.api.schemas import QueueOut
from protocol import parse_ts

router = APIRouter(prefix="/queue", tags=["queue"])


def queue_status(
    stats: dict[str, Any], status: dict[str, Any], backlog_warn_seconds: float
) -> dict[str, Any]:
    """Queue figures plus connectivity, with a backlog warning past the age threshold."""
    age = None
    if stats.get("oldest_pending_ts"):
        age = max(0.0, (datetime.now(UTC) - parse_ts(stats["oldest_pending_ts"])).total_seconds())
    return {
        **stats,
        "broker_connected": bool(status.get("broker_connected", False)),
        "central_online": bool(status.get("central_online", False)),
        **{k: v for k, v in status.items() if k not in ("broker_connected", "central_online")},
        "backlog_age_seconds": age,
        "backlog_warn_seconds": backlog_warn_seconds,
        "backlog_warning": age is not None and age > backlog_warn_seconds,
    }


# exclude_unset: a link status without in_flight answers without it, as it always did.
@router.get("", response_model=QueueOut, response_model_exclude_unset=True)
async def get_queue(queue: QueueDep, config: ConfigDep, link: LinkStatusDep) -> QueueOut:
    """Depth, oldest pending ts, last acked seq, connectivity and the backlog warning."""
    stats = asdict(await queue.stats())
    return QueueOut.model_validate(queue_status(stats, link(), config.backlog_warn_seconds))

"""/healthz: the local API answers and the queue file can be read."""

from fastapi import APIRouter

from edge.api.deps import ConfigDep, QueueDep
from edge.api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
async def healthz(config: ConfigDep, queue: QueueDep) -> HealthOut:
    """Liveness: the API answers and the queue can be read."""
    await queue.stats()
    return HealthOut(status="ok", site=config.site, edge=config.edge_id)

"""/control-tower: the plant at a glance, and its sites' locations with their stock."""

from typing import Annotated

from fastapi import APIRouter, Query

from central.api.deps import CallerDep, ReadConn
from central.api.schemas.control_tower import ControlTowerOut, TopologyOut
from central.clock import now
from central.tower import overview, topology
from runtime.http_errors import error_responses

router = APIRouter(prefix="/control-tower", tags=["control tower"])

WindowDays = Annotated[
    int, Query(ge=1, le=366, description="days of history the health scores cover")
]


@router.get("", response_model=ControlTowerOut, responses=error_responses(422))
async def control_tower(
    conn: ReadConn, caller: CallerDep, site: str | None = None, days: WindowDays = 30
) -> overview.ControlTower:
    """Open orders, shipments, pick tasks, work orders, edges, conflicts and holds of the
    caller's sites (or ``site``), and health scores over the last ``days``."""
    return await overview.control_tower(
        conn, sites=caller.site_filter(site), site=site, at=now(), days=days
    )


@router.get("/topology", response_model=TopologyOut)
async def control_tower_topology(
    conn: ReadConn, caller: CallerDep, site: str | None = None
) -> topology.Topology:
    """Each site's locations with the stock on hand, reserved, on hold and in transit."""
    return await topology.topology(
        conn, sites=caller.site_filter(site), site=site, today=now().date()
    )

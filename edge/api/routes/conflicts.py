"""/conflicts: this edge's refused actions, and a supervisor's read and resolution of one,
forwarded to central."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from edge.api.deps import ConfigDep, ConflictsDep
from edge.api.errors import error_responses
from edge.api.schemas import CentralConflictOut, ConflictsOut, ResolveIn
from edge.errors import UnknownStationError

router = APIRouter(prefix="/conflicts", tags=["conflicts"])
# Central is called: it may be away (503), refuse the edge's token (502) or lack the id (404).
CENTRAL = (404, 422, 502, 503)
# Central's conflict ids: positive, within a 32-bit column's range.
ConflictId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("", response_model=ConflictsOut, responses=error_responses(404, 422, 503))
async def list_conflicts(
    desk: ConflictsDep,
    config: ConfigDep,
    station: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ConflictsOut:
    """This edge's actions central answered conflict or rejected, newest first, from its
    own queue (offline too), each with the resolution central confirmed through this edge."""
    if station is not None and config.station(station) is None:
        raise UnknownStationError(f"no station {station!r} on this edge")
    listed = await desk.listed(station, limit)
    return ConflictsOut.model_validate({"station": station, "conflicts": listed})


@router.get(
    "/{conflict_id}", response_model=CentralConflictOut, responses=error_responses(*CENTRAL)
)
async def get_conflict(conflict_id: ConflictId, desk: ConflictsDep) -> CentralConflictOut:
    """Central's record of a conflict (status, envelope, code, message, details, resolution);
    503 CENTRAL_UNREACHABLE within seconds when central cannot be reached."""
    return CentralConflictOut(conflict_id=conflict_id, central=await desk.read(conflict_id))


@router.post(
    "/{conflict_id}/resolve",
    response_model=CentralConflictOut,
    responses=error_responses(403, 409, *CENTRAL),
)
async def resolve_conflict(
    conflict_id: ConflictId, decision: ResolveIn, desk: ConflictsDep
) -> CentralConflictOut:
    """A supervisor's resolution of one of this edge's conflicts, forwarded to central and
    kept here once central confirms it. 403 NOT_A_SUPERVISOR (central is not called), 409
    with central's code when it will not resolve, 503 CENTRAL_UNREACHABLE."""
    answer = await desk.resolve(
        conflict_id,
        supervisor=decision.supervisor,
        resolution=decision.resolution,
        reason=decision.reason,
        body=decision.body,
    )
    return CentralConflictOut(conflict_id=conflict_id, central=answer)

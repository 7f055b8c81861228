"""/tasks: the open pick tasks a station works on, from the reference cache, offline too."""

from dataclasses import asdict

from fastapi import APIRouter

from edge.api.deps import ConfigDep, LookupsDep
from edge.api.errors import error_responses
from edge.api.schemas import TasksOut
from edge.errors import UnknownStationError

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.get("", response_model=TasksOut, responses=error_responses(404, 422, 503))
async def list_tasks(
    lookups: LookupsDep, config: ConfigDep, station: str | None = None
) -> TasksOut:
    """Open pick tasks in wave and sequence order: those at the station's task_locations
    when it has some, else every open task of the site."""
    locations = None
    if station is not None:
        found = config.station(station)
        if found is None:
            raise UnknownStationError(f"no station {station!r} on this edge")
        locations = found.task_locations
    return TasksOut.model_validate(asdict(await lookups.tasks(station, locations)))

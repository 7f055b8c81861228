"""/actions: enqueue an action on the edge's disk, and read its state back."""

from dataclasses import asdict

from fastapi import APIRouter, status

from edge.api.deps import QueueDep, StationsDep
from edge.api.errors import error_responses
from edge.api.schemas import ActionIn, ActionOut, QueuedActionOut
from edge.errors import UnknownActionError

router = APIRouter(prefix="/actions", tags=["actions"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=QueuedActionOut,
    responses=error_responses(404, 409, 422, 503, 507),
)
async def post_action(action: ActionIn, stations: StationsDep) -> QueuedActionOut:
    """Enqueue an action for a station of this edge; answers only after it is on disk.

    404 STATION_NOT_FOUND for a station the edge does not have, 409 OPERATOR_NOT_SIGNED_IN
    when the station requires sign-in and the operator is not the one signed in there,
    422 QTY_OVER_LIMIT above the edge's maximum quantity per action.
    """
    queued = await stations.submit_action(
        station=action.station, type=action.type, operator=action.operator, body=action.body
    )
    return QueuedActionOut.model_validate(asdict(queued))


@router.get("/{action_id}", response_model=ActionOut, responses=error_responses(404, 422))
async def get_action(action_id: str, queue: QueueDep) -> ActionOut:
    """An action's state, with central's code and message once acked."""
    record = await queue.get(action_id)
    if record is None:
        raise UnknownActionError(f"no action {action_id!r} on this edge")
    return ActionOut.model_validate(asdict(record))

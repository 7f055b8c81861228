"""/actions: enqueue an action on the edge's disk, and read its state back."""

from dataclasses import asdict

from fastapi import APIRouter, status

from edge.api.deps import QueueDep
from edge.api.errors import error_responses
from edge.api.schemas import ActionIn, ActionOut, QueuedActionOut
from edge.errors import UnknownActionError

router = APIRouter(prefix="/actions", tags=["actions"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=QueuedActionOut,
    responses=error_responses(422, 503, 507),
)
async def post_action(action: ActionIn, queue: QueueDep) -> QueuedActionOut:
    """Enqueue an action; answers only after it is committed to disk."""
    queued = await queue.enqueue(
        type=action.type, station=action.station, operator=action.operator, body=action.body
    )
    return QueuedActionOut.model_validate(asdict(queued))


@router.get("/{action_id}", response_model=ActionOut, responses=error_responses(404, 422))
async def get_action(action_id: str, queue: QueueDep) -> ActionOut:
    """An action's state, with central's code and message once acked."""
    record = await queue.get(action_id)
    if record is None:
        raise UnknownActionError(f"no action {action_id!r} on this edge")
    return ActionOut.model_validate(asdict(record))

"""/operators: whether a badge's operator id is a supervisor's, for a kiosk's lock and
conflicts."""

from fastapi import APIRouter

from edge.api.deps import ConfigDep
from edge.api.errors import error_responses
from edge.api.schemas import OperatorOut

router = APIRouter(prefix="/operators", tags=["operators"])


@router.get("/{operator_id}", response_model=OperatorOut, responses=error_responses(422))
async def get_operator(operator_id: str, config: ConfigDep) -> OperatorOut:
    """Any id answers: ``supervisor`` is true when edge.toml's supervisors lists it."""
    return OperatorOut(id=operator_id, supervisor=config.is_supervisor(operator_id))

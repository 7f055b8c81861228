"""/conflicts: the inbox of valid actions that could not apply, and their resolution."""

from typing import Literal

from fastapi import APIRouter, Request

from central.api.deps import CallerDep, Limit, Offset, ReadConn, SupervisorCaller, WriteConn
from central.api.schemas import Page
from central.api.schemas.inventory import ConflictDetailOut, ResolvedOut, ResolveIn
from central.services import conflicts, queries

router = APIRouter(prefix="/conflicts", tags=["conflicts"])
ConflictStatus = Literal["open", "resolved", "voided"]


@router.get("", response_model=Page[ConflictDetailOut])
async def list_conflicts(
    conn: ReadConn,
    caller: CallerDep,
    status: ConflictStatus | None = None,
    site: str | None = None,
    edge: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, object]:
    """Conflicts, oldest first, each with the envelope exactly as the edge sent it."""
    items = await queries.list_conflicts(
        conn, sites=caller.site_filter(site), status=status, edge=edge, limit=limit, offset=offset
    )
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/{conflict_id}", response_model=ConflictDetailOut)
async def get_conflict(conflict_id: int, conn: ReadConn, caller: CallerDep) -> dict[str, object]:
    """One conflict with its envelope and, once decided, its resolution."""
    return await queries.get_conflict(conn, conflict_id=conflict_id, sites=caller.site_filter())


@router.post("/{conflict_id}/resolve", response_model=ResolvedOut)
async def resolve_conflict(
    conflict_id: int, body: ResolveIn, request: Request, conn: WriteConn, caller: SupervisorCaller
) -> dict[str, object]:
    """Apply the action anyway (forced), apply it with a changed body, or void it; audited."""
    return await conflicts.resolve(
        conn,
        conflict_id=conflict_id,
        resolution=body.resolution,
        reason=body.reason,
        body=body.body,
        caller=caller,
        settings=request.app.state.settings,
        refs=request.app.state.processor.refs,
    )

"""/conflicts: the inbox of valid actions that could not apply, and their resolution."""

from fastapi import APIRouter

from central.api.deps import ApplyDep, CallerDep, ReadConn, SupervisorCaller
from central.api.paging import Page, PagingDep
from central.api.schemas.conflicts import ConflictDetailOut, ResolvedOut, ResolveIn
from central.conflicts import inbox, resolution
from central.conflicts.inbox import Conflict
from central.conflicts.resolution import Resolved
from central.db.enums import ConflictStatus
from runtime.http_errors import error_responses

router = APIRouter(prefix="/conflicts", tags=["conflicts"])


@router.get("", response_model=Page[ConflictDetailOut])
async def list_conflicts(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    status: ConflictStatus | None = None,
    site: str | None = None,
    edge: str | None = None,
) -> dict[str, object]:
    """Conflicts, oldest first, each with the envelope exactly as the edge sent it."""
    items = await inbox.list_conflicts(
        conn,
        sites=caller.site_filter(site),
        status=status,
        edge=edge,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/{conflict_id}", response_model=ConflictDetailOut, responses=error_responses(404))
async def get_conflict(conflict_id: int, conn: ReadConn, caller: CallerDep) -> Conflict:
    """One conflict with its envelope and, once decided, its resolution."""
    return await inbox.get_conflict(conn, conflict_id=conflict_id, sites=caller.site_filter())


@router.post(
    "/{conflict_id}/resolve", response_model=ResolvedOut, responses=error_responses(404, 409)
)
async def resolve_conflict(
    conflict_id: int, body: ResolveIn, ctx: ApplyDep, caller: SupervisorCaller
) -> Resolved:
    """Apply the action anyway (forced), apply it with a changed body, or void it; audited."""
    return await resolution.resolve(
        ctx,
        conflict_id=conflict_id,
        resolution=body.resolution,
        reason=body.reason,
        body=body.body,
        caller=caller,
    )

"""/counts: stock count sessions, variances and approval."""

from fastapi import APIRouter, status

from central.api.deps import (
    ApplyDep,
    CallerDep,
    ReadConn,
    WarehouseCaller,
    WriteConn,
)
from central.api.paging import Page, PagingDep
from central.api.schemas.counts import (
    ApprovalOut,
    CountDetailOut,
    CountIn,
    CountOut,
    VarianceOut,
)
from central.counts import approval, service
from central.db.enums import CountStatus
from runtime.http_errors import error_responses

router = APIRouter(prefix="/counts", tags=["counts"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CountDetailOut,
    responses=error_responses(404, 409),
)
async def create_count(
    body: CountIn, conn: WriteConn, caller: WarehouseCaller
) -> service.CountDetail:
    """Open a count session for a location: a full count of it, or a partial one."""
    return await service.create_session(
        conn,
        caller=caller,
        site=body.site,
        location=body.location,
        number=body.number,
        scope=body.scope,
    )


@router.get("", response_model=Page[CountOut])
async def list_counts(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    status: CountStatus | None = None,
    location: str | None = None,
    site: str | None = None,
) -> dict[str, object]:
    """Count sessions, newest first, of the caller's sites."""
    items = await service.list_sessions(
        conn,
        sites=caller.site_filter(site),
        status=status,
        location=location,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/{session_id}", response_model=CountDetailOut, responses=error_responses(404))
async def get_count(session_id: int, conn: ReadConn, caller: CallerDep) -> service.CountDetail:
    """One count session with every line the floor recorded."""
    return await service.get_session(conn, session_id=session_id, caller=caller)


@router.get("/{session_id}/variance", response_model=VarianceOut, responses=error_responses(404))
async def get_variance(session_id: int, conn: ReadConn, caller: CallerDep) -> service.Variance:
    """Counted against booked, per LP and per product."""
    return await service.variance(conn, session_id=session_id, caller=caller)


@router.post(
    "/{session_id}/approve", response_model=ApprovalOut, responses=error_responses(404, 409)
)
async def approve_count(
    session_id: int,
    ctx: ApplyDep,
    caller: WarehouseCaller,
) -> approval.Approval:
    """Approve the count: every difference is booked as ADJUST rows linked to the session.
    The approver must not have opened the session nor counted in it (admins excepted)."""
    return await approval.approve(ctx, caller=caller, session_id=session_id)


@router.post("/{session_id}/cancel", response_model=CountOut, responses=error_responses(404, 409))
async def cancel_count(
    session_id: int, conn: WriteConn, caller: WarehouseCaller
) -> service.CountSession:
    """Close the session without booking anything."""
    return await service.cancel(conn, caller=caller, session_id=session_id)

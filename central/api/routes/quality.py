"""/quality/holds: LPs and lots on quality hold."""

from fastapi import APIRouter, status

from central.api.deps import (
    ApplyDep,
    CallerDep,
    QualityCaller,
    ReadConn,
)
from central.api.paging import Page, PagingDep
from central.api.schemas.quality import HoldChangeOut, HoldIn, HoldOut, ReleaseIn
from central.db.enums import HoldStatus
from central.quality import service
from runtime.http_errors import error_responses

router = APIRouter(prefix="/quality", tags=["quality"])


@router.get("/holds", response_model=Page[HoldOut])
async def list_holds(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    status: HoldStatus | None = None,
    lp: str | None = None,
    lot: str | None = None,
    site: str | None = None,
) -> dict[str, object]:
    """Holds, newest first, of the caller's sites; by status, LP number, lot or site."""
    items = await service.list_holds(
        conn,
        sites=caller.site_filter(site),
        status=status,
        lp=lp,
        lot=lot,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/holds/{hold_id}", response_model=HoldOut, responses=error_responses(404))
async def get_hold(hold_id: int, conn: ReadConn, caller: CallerDep) -> service.Hold:
    """One hold."""
    return await service.get_hold(conn, hold_id=hold_id, caller=caller)


@router.post(
    "/holds",
    status_code=status.HTTP_201_CREATED,
    response_model=HoldChangeOut,
    responses=error_responses(404, 409),
)
async def create_hold(
    body: HoldIn,
    ctx: ApplyDep,
    caller: QualityCaller,
) -> service.HoldOutcome:
    """Put an LP (with everything packed in it) or a lot on hold, as qc.hold does."""
    return await service.create_hold(
        ctx,
        caller=caller,
        site=body.site,
        reason=body.reason,
        lp=body.lp,
        lot=body.lot,
        item=body.item,
    )


@router.post(
    "/holds/{hold_id}/release", response_model=HoldChangeOut, responses=error_responses(404, 409)
)
async def release_hold(
    hold_id: int,
    body: ReleaseIn,
    ctx: ApplyDep,
    caller: QualityCaller,
) -> service.HoldOutcome:
    """Release a hold; its LPs come off hold unless another active hold still covers them."""
    return await service.release_hold(
        ctx,
        caller=caller,
        hold_id=hold_id,
        reason=body.reason,
    )

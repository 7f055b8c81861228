"""/security-events: refused signatures, edges, logins and tokens, counted per source;
/security/rejected: the refused envelopes kept for inspection; /security/drops: what was
turned away to stay bounded."""

from datetime import datetime

from fastapi import APIRouter, Request

from central.api.deps import AdminCaller, ProcessorDep, ReadConn
from central.api.paging import Page, PagingDep
from central.api.schemas.security import RejectedActionOut, SecurityEventOut
from central.db.enums import SecurityKind
from central.security.queries import list_events, list_rejected
from protocol import RejectCode
from runtime.http_errors import error_responses

router = APIRouter(tags=["security"])


@router.get("/security-events", response_model=Page[SecurityEventOut])
async def list_security_events(
    conn: ReadConn,
    caller: AdminCaller,
    paging: PagingDep,
    kind: SecurityKind | None = None,
    source: str | None = None,
    site: str | None = None,
    since: datetime | None = None,
) -> dict[str, object]:
    """Events seen last first (admins; an admin of some sites sees only theirs' events)."""
    items = await list_events(
        conn,
        sites=caller.site_filter(site),
        kind=kind,
        source=source,
        since=since,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get(
    "/security/rejected",
    response_model=Page[RejectedActionOut],
    responses=error_responses(403, 422),
)
async def list_rejected_actions(
    conn: ReadConn,
    caller: AdminCaller,
    paging: PagingDep,
    site: str | None = None,
    edge: str | None = None,
    code: RejectCode | None = None,
    since: datetime | None = None,
) -> dict[str, object]:
    """Refused envelopes seen last first, their text cut short (admins; an admin of some
    sites sees only those naming their sites)."""
    items = await list_rejected(
        conn,
        sites=caller.site_filter(site),
        edge=edge,
        code=code,
        since=since,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/security/drops")
async def dropped(request: Request, processor: ProcessorDep, caller: AdminCaller) -> dict[str, int]:
    """What this process turned away or did not keep to stay bounded, since it started."""
    return {
        **processor.drops.as_dict(),
        "http_rate_limited": request.app.state.failure_limiter.refused,
    }

"""/security-events: refused signatures, edges, logins and tokens, counted per source."""

from datetime import datetime

from fastapi import APIRouter, Request

from central.api.deps import AdminCaller, ProcessorDep, ReadConn
from central.api.paging import Page, PagingDep
from central.api.schemas.security import SecurityEventOut
from central.db.enums import SecurityKind
from central.security.queries import list_events

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


@router.get("/security/drops")
async def dropped(request: Request, processor: ProcessorDep, caller: AdminCaller) -> dict[str, int]:
    """What this process turned away or did not keep to stay bounded, since it started."""
    return {
        **processor.drops.as_dict(),
        "http_rate_limited": request.app.state.failure_limiter.refused,
    }

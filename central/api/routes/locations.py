"""/locations: where LPs are, per site."""

from fastapi import APIRouter, status

from central.api.deps import CallerDep, ReadConn, WarehouseCaller, WriteConn
from central.api.paging import Page, PagingDep
from central.api.schemas.catalog import LocationIn, LocationOut
from central.catalog import locations
from central.catalog.locations import Location
from runtime.http_errors import error_responses

router = APIRouter(prefix="/locations", tags=["locations"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=LocationOut,
    responses=error_responses(404, 409),
)
async def create_location(body: LocationIn, conn: WriteConn, caller: WarehouseCaller) -> Location:
    """Add a location ((site, code) unique)."""
    caller.require_site(body.site)
    return await locations.create_location(
        conn, site=body.site, code=body.code, name=body.name, kind=body.kind, caller=caller
    )


@router.get("", response_model=Page[LocationOut])
async def list_locations(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
) -> dict[str, object]:
    """Locations of the caller's sites, optionally of one."""
    items = await locations.list_locations(
        conn, sites=caller.site_filter(site), limit=paging.limit, offset=paging.offset
    )
    return paging.of(items)

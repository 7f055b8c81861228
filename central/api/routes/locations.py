"""/locations: where LPs are, per site."""

from fastapi import APIRouter, status

from central.api.deps import Limit, Offset, ReadConn, WriteConn
from central.api.schemas import LocationIn, LocationOut, Page
from central.services import catalog

router = APIRouter(prefix="/locations", tags=["locations"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=LocationOut)
async def create_location(body: LocationIn, conn: WriteConn) -> dict[str, object]:
    """Add a location ((site, code) unique)."""
    return await catalog.create_location(conn, site=body.site, code=body.code, name=body.name)


@router.get("", response_model=Page[LocationOut])
async def list_locations(conn: ReadConn, site: str | None = None, limit: Limit = 100,
                         offset: Offset = 0) -> dict[str, object]:
    """Locations, optionally of one site."""
    items = await catalog.list_locations(conn, site=site, limit=limit, offset=offset)
    return {"items": items, "limit": limit, "offset": offset}

"""/license-plates lists, an LP's contents, and /license-plates/{number}/genealogy: the recall
query, up and down."""

from typing import Annotated

from fastapi import APIRouter, Query

from central.api.deps import CallerDep, Limit, Offset, ReadConn
from central.api.schemas import Page
from central.api.schemas.genealogy import (
    Direction,
    GenealogyOut,
    LicensePlateContents,
    LicensePlateRow,
    LpStatus,
)
from central.inventory import genealogy
from central.inventory import queries as license_plates

router = APIRouter(tags=["genealogy"])
Depth = Annotated[int, Query(ge=1, le=genealogy.MAX_DEPTH, description="links to follow")]


@router.get("/license-plates", response_model=Page[LicensePlateRow])
async def list_license_plates(
    conn: ReadConn,
    caller: CallerDep,
    site: str | None = None,
    product: str | None = None,
    location: str | None = None,
    lot: str | None = None,
    status: LpStatus | None = None,
    parent: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, object]:
    """LPs by number, filtered by site, product code, location code, lot, status or the LP
    they are packed in (``parent``)."""
    items = await license_plates.list_license_plates(
        conn,
        sites=caller.site_filter(site),
        product=product,
        location=location,
        lot=lot,
        status=status,
        parent=parent,
        limit=limit,
        offset=offset,
    )
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/license-plates/{number}/contents", response_model=LicensePlateContents)
async def get_contents(number: str, conn: ReadConn, caller: CallerDep) -> dict[str, object]:
    """An LP and everything packed in it, any depth (cartons on a pallet)."""
    return await license_plates.contents(conn, number=number, sites=caller.site_filter())


@router.get("/license-plates/{number}/genealogy", response_model=GenealogyOut)
async def get_genealogy(
    number: str,
    conn: ReadConn,
    caller: CallerDep,
    direction: Direction = "down",
    depth: Depth = genealogy.DEFAULT_DEPTH,
) -> dict[str, object]:
    """The recall tree: ``down`` (forward) where the LP went, ``up`` (backward) what went in."""
    return await genealogy.trace(
        conn, number=number, direction=direction, depth=depth, sites=caller.site_filter()
    )

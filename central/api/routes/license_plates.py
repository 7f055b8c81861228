"""/license-plates: one LP, LP lists, what an LP holds, and its genealogy (the recall trace)."""

from typing import Annotated

from fastapi import APIRouter, Query

from central.api.deps import CallerDep, ReadConn
from central.api.paging import Page, PagingDep
from central.api.schemas.genealogy import Direction, GenealogyOut
from central.api.schemas.license_plates import (
    LicensePlateContents,
    LicensePlateOut,
    LicensePlateRow,
)
from central.db.enums import LpStatus
from central.inventory import genealogy, queries
from central.shipping import deliveries
from runtime.http_errors import error_responses

router = APIRouter(prefix="/license-plates", tags=["license plates"])
Depth = Annotated[int, Query(ge=1, le=genealogy.MAX_DEPTH, description="links to follow")]
# LP numbers are unique per site: a number at several of the caller's sites is 409
# LP_AMBIGUOUS until the caller names one.
AtSite = Annotated[str | None, Query(description="the LP's site, when the number is at several")]
MaxLinks = Annotated[
    int,
    Query(
        ge=1,
        le=genealogy.LINK_CEILING,
        description="links the walk follows at most; beyond them the answer is truncated",
    ),
]


@router.get("", response_model=Page[LicensePlateRow])
async def list_license_plates(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    product: str | None = None,
    location: str | None = None,
    lot: str | None = None,
    status: LpStatus | None = None,
    parent: str | None = None,
) -> dict[str, object]:
    """LPs by number, filtered by site, product code, location code, lot, status or the LP
    they are packed in (``parent``)."""
    items = await queries.list_license_plates(
        conn,
        sites=caller.site_filter(site),
        product=product,
        location=location,
        lot=lot,
        status=status,
        parent=parent,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/{number}", response_model=LicensePlateOut, responses=error_responses(404, 409))
async def get_license_plate(
    number: str, conn: ReadConn, caller: CallerDep, site: AtSite = None
) -> queries.LicensePlate:
    """One LP: product, quantity, place, status, lot, and the LP it is packed in. ``number``
    may be the LP's SSCC as its label prints it (``00`` + 18 digits, or ``(00)`` + 18)."""
    return await queries.get_license_plate(conn, number=number, sites=caller.site_filter(site))


@router.get(
    "/{number}/contents", response_model=LicensePlateContents, responses=error_responses(404, 409)
)
async def get_contents(
    number: str, conn: ReadConn, caller: CallerDep, site: AtSite = None
) -> queries.LpContents:
    """An LP and everything packed in it, any depth (cartons on a pallet); ``number`` may be
    the LP's SSCC as its label prints it."""
    return await queries.get_contents(conn, number=number, sites=caller.site_filter(site))


@router.get("/{number}/genealogy", response_model=GenealogyOut, responses=error_responses(404, 409))
async def get_genealogy(
    number: str,
    conn: ReadConn,
    caller: CallerDep,
    direction: Direction = "down",
    depth: Depth = genealogy.DEFAULT_DEPTH,
    site: AtSite = None,
    max_links: MaxLinks = genealogy.MAX_LINKS,
) -> dict[str, object]:
    """The recall tree: ``down`` (forward) where the LP went, ``up`` (backward) what went in;
    the LPs reached, once each, what to act on, and the shipments and customers that got any
    of them. ``number`` may be the LP's SSCC with its AI (``00`` + 18 digits, or ``(00)`` +
    18 digits)."""
    return await deliveries.trace_lp(
        conn,
        number=number,
        direction=direction,
        depth=depth,
        sites=caller.site_filter(site),
        max_links=max_links,
    )

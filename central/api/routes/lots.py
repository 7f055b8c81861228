"""/lots: a lot as a recall's entry point, traced from every LP of it at once."""

from typing import Annotated

from fastapi import APIRouter, Query

from central.api.deps import CallerDep, ReadConn
from central.api.routes.license_plates import AtSite, Depth, MaxLinks
from central.api.schemas.genealogy import Direction, LotGenealogyOut
from central.inventory import genealogy
from central.shipping import deliveries
from runtime.http_errors import error_responses

router = APIRouter(prefix="/lots", tags=["license plates"])
# A lot number is unique per product only: the same lot under several products is 409
# LOT_AMBIGUOUS (with the candidates) until the caller names one.
Item = Annotated[str | None, Query(description="the product code the lot belongs to")]


@router.get("/{lot}/genealogy", response_model=LotGenealogyOut, responses=error_responses(404, 409))
async def get_lot_genealogy(
    lot: str,
    conn: ReadConn,
    caller: CallerDep,
    item: Item = None,
    direction: Direction = "down",
    depth: Depth = genealogy.DEFAULT_DEPTH,
    site: AtSite = None,
    max_links: MaxLinks = genealogy.MAX_LINKS,
) -> dict[str, object]:
    """The recall from a lot: ``down`` (forward) where every LP of it went, ``up`` (backward)
    what went into them; the LPs reached, once each, what to act on, and the shipments and
    customers that got any of them ("which customers got this lot")."""
    return await deliveries.trace_lot(
        conn,
        lot=lot,
        item=item,
        direction=direction,
        depth=depth,
        sites=caller.site_filter(site),
        max_links=max_links,
    )

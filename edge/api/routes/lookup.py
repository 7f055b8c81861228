"""/lookup: LPs, products, locations, work orders and shipments from the reference cache,
offline too."""

from dataclasses import asdict

from fastapi import APIRouter

from edge.api.deps import LookupsDep
from edge.api.errors import error_responses
from edge.api.schemas import LookupOut, RefStatusOut

router = APIRouter(prefix="/lookup", tags=["lookup"])
RESPONSES = error_responses(404, 422, 503)


@router.get("", response_model=RefStatusOut, responses=error_responses(503))
async def cache_status(lookups: LookupsDep) -> RefStatusOut:
    """The cache per kind (position, central's head, records, freshness) and its counters."""
    return RefStatusOut.model_validate(await lookups.status())


@router.get("/lp/{number}", response_model=LookupOut, responses=RESPONSES)
async def lookup_lp(number: str, lookups: LookupsDep) -> LookupOut:
    """An LP as central last described it, with this edge's unacked actions on it applied."""
    return LookupOut.model_validate(asdict(await lookups.lp(number)))


@router.get("/product/{code}", response_model=LookupOut, responses=RESPONSES)
async def lookup_product(code: str, lookups: LookupsDep) -> LookupOut:
    """A product by its code or by one of its GTINs (8, 12, 13 or 14 digits)."""
    return LookupOut.model_validate(asdict(await lookups.product(code)))


@router.get("/location/{code}", response_model=LookupOut, responses=RESPONSES)
async def lookup_location(code: str, lookups: LookupsDep) -> LookupOut:
    """A location by its code."""
    return LookupOut.model_validate(asdict(await lookups.location(code)))


@router.get("/work-order/{number}", response_model=LookupOut, responses=RESPONSES)
async def lookup_work_order(number: str, lookups: LookupsDep) -> LookupOut:
    """A work order by its number, with its materials."""
    return LookupOut.model_validate(asdict(await lookups.work_order(number)))


@router.get("/shipment/{number}", response_model=LookupOut, responses=RESPONSES)
async def lookup_shipment(number: str, lookups: LookupsDep) -> LookupOut:
    """A shipment by its number: its orders, the LPs planned on it and those loaded."""
    return LookupOut.model_validate(asdict(await lookups.shipment(number)))

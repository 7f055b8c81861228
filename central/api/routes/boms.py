"""/products/{id}/bom: versioned bills of materials."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from central.api.deps import CallerDep, ReadConn, TechnicalCaller, WriteConn
from central.api.schemas.catalog import BomIn, BomOut, BomSaved, BomVersionOut
from central.catalog import boms
from central.catalog.boms import Bom, BomVersion, SavedBom
from runtime.http_errors import error_responses

router = APIRouter(prefix="/products", tags=["boms"])


@router.post(
    "/{product_id}/bom",
    response_model=BomSaved,
    responses={
        **error_responses(404, 409),
        status.HTTP_201_CREATED: {"model": BomSaved, "description": "a new version was made"},
    },
)
async def save_bom(
    product_id: int, body: BomIn, conn: WriteConn, caller: TechnicalCaller, response: Response
) -> SavedBom:
    """Save the product's BOM: 201 with a new version (the first one, or one asked for with
    ``new_version``), 200 when the current version was replaced in place; 409
    BOM_VERSION_USED when a work order used the current version (save a new version)."""
    bom = await boms.save_bom(
        conn,
        product_id=product_id,
        note=body.note,
        new_version=body.new_version,
        caller=caller,
        items=[item.model_dump() for item in body.items],
    )
    response.status_code = status.HTTP_201_CREATED if bom.created_new_version else 200
    return bom


@router.get("/{product_id}/bom", response_model=BomOut, responses=error_responses(404))
async def get_bom(
    product_id: int,
    conn: ReadConn,
    caller: CallerDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Bom:
    """The product's current BOM, or the given version."""
    return await boms.get_bom(conn, product_id=product_id, version=version, caller=caller)


@router.get(
    "/{product_id}/bom/versions", response_model=list[BomVersionOut], responses=error_responses(404)
)
async def list_bom_versions(product_id: int, conn: ReadConn, caller: CallerDep) -> list[BomVersion]:
    """Every BOM version of the product, oldest first; the last one is current."""
    return await boms.list_versions(conn, product_id=product_id, caller=caller)

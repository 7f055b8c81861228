"""/license-plates, /stock-moves and /inventory: stock as the ledger has it, and its proof."""

from typing import Literal

from fastapi import APIRouter

from central.api.deps import CallerDep, Limit, Offset, ReadConn
from central.api.schemas import Page
from central.api.schemas.inventory import (
    AvailableOut,
    CheckOut,
    LedgerRowOut,
    LicensePlateDetailOut,
)
from central.conflicts import inbox as queries
from central.inventory import consistency, stock

router = APIRouter(tags=["inventory"])
MoveKind = Literal[
    "RECEIPT",
    "TRANSFER_OUT",
    "TRANSFER_IN",
    "CONSUME",
    "PRODUCE",
    "ADJUST",
    "PICK",
    "SHIP",
    "CORRECTION",
    "SPLIT_OUT",
    "SPLIT_IN",
    "MERGE_OUT",
    "MERGE_IN",
    "RESERVE",
    "RELEASE",
]


@router.get("/license-plates/{number}", response_model=LicensePlateDetailOut)
async def get_license_plate(number: str, conn: ReadConn, caller: CallerDep) -> dict[str, object]:
    """One LP: product, quantity, place, status, lot, and the LP it is packed in."""
    return await queries.get_license_plate(conn, number=number, sites=caller.site_filter())


@router.get("/stock-moves", response_model=Page[LedgerRowOut])
async def list_stock_moves(
    conn: ReadConn,
    caller: CallerDep,
    lp: str | None = None,
    work_order: str | None = None,
    kind: MoveKind | None = None,
    action_id: str | None = None,
    site: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, object]:
    """The append-only ledger in recorded order, optionally by LP, work order, kind or action."""
    items = await queries.list_stock_moves(
        conn,
        sites=caller.site_filter(site),
        lp=lp,
        work_order=work_order,
        kind=kind,
        action_id=action_id,
        limit=limit,
        offset=offset,
    )
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/inventory/available", response_model=Page[AvailableOut])
async def available(
    conn: ReadConn,
    caller: CallerDep,
    product: str | None = None,
    location: str | None = None,
    lot: str | None = None,
    site: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, object]:
    """Stock on hand per site, product, location and lot: available, reserved, on hold."""
    items = await stock.available(
        conn,
        sites=caller.site_filter(site),
        product=product,
        location=location,
        lot=lot,
        limit=limit,
        offset=offset,
    )
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/inventory/check", response_model=CheckOut)
async def check(conn: ReadConn, caller: CallerDep, site: str | None = None) -> dict[str, object]:
    """Prove LP quantities, places and statuses against the ledger (ok false lists problems)."""
    return await consistency.check(conn, sites=caller.site_filter(site))

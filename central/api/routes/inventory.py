"""/license-plates and /stock-moves: inventory as the ledger has it."""

from typing import Literal

from fastapi import APIRouter

from central.api.deps import Limit, Offset, ReadConn
from central.api.schemas import LicensePlateOut, Page, StockMoveOut
from central.services import queries

router = APIRouter(tags=["inventory"])
MoveKind = Literal["RECEIPT", "TRANSFER_OUT", "TRANSFER_IN", "CONSUME", "PRODUCE"]


@router.get("/license-plates/{number}", response_model=LicensePlateOut)
async def get_license_plate(number: str, conn: ReadConn) -> dict[str, object]:
    """One LP: product, quantity, place, status, lot."""
    return await queries.get_license_plate(conn, number=number)


@router.get("/stock-moves", response_model=Page[StockMoveOut])
async def list_stock_moves(conn: ReadConn, lp: str | None = None, work_order: str | None = None,
                           kind: MoveKind | None = None, action_id: str | None = None,
                           limit: Limit = 100, offset: Offset = 0) -> dict[str, object]:
    """The append-only ledger in recorded order, optionally by LP, work order, kind or action."""
    items = await queries.list_stock_moves(conn, lp=lp, work_order=work_order, kind=kind,
                                           action_id=action_id, limit=limit, offset=offset)
    return {"items": items, "limit": limit, "offset": offset}

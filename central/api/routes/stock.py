"""/stock-moves and /inventory: stock as the ledger has it, and its proof."""

from fastapi import APIRouter

from central.api.deps import CallerDep, ReadConn
from central.api.paging import Page, PagingDep
from central.api.schemas.stock import AvailableOut, CheckOut, LedgerRowOut
from central.db.enums import MoveKind
from central.inventory import consistency, queries, stock

router = APIRouter(tags=["stock"])


@router.get("/stock-moves", response_model=Page[LedgerRowOut])
async def list_stock_moves(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    lp: str | None = None,
    work_order: str | None = None,
    kind: MoveKind | None = None,
    action_id: str | None = None,
    site: str | None = None,
) -> dict[str, object]:
    """The append-only ledger in recorded order, optionally by LP, work order, kind or action."""
    items = await queries.list_stock_moves(
        conn,
        sites=caller.site_filter(site),
        lp=lp,
        work_order=work_order,
        kind=kind,
        action_id=action_id,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/inventory/available", response_model=Page[AvailableOut])
async def available(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    product: str | None = None,
    location: str | None = None,
    lot: str | None = None,
    site: str | None = None,
) -> dict[str, object]:
    """Stock on hand per site, product, location and lot: available, and what is excluded
    (reserved, on hold, expired as of today)."""
    items = await stock.available(
        conn,
        sites=caller.site_filter(site),
        product=product,
        location=location,
        lot=lot,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/inventory/check", response_model=CheckOut)
async def check(
    conn: ReadConn, caller: CallerDep, site: str | None = None
) -> consistency.CheckReport:
    """Prove LP quantities, places and statuses against the ledger (ok false lists problems)."""
    return await consistency.check(conn, sites=caller.site_filter(site))

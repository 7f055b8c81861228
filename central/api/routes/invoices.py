"""/invoices: what dispatch invoiced, one invoice per order per shipment, with its lines."""

from datetime import datetime

from fastapi import APIRouter

from central.api.deps import CallerDep, ReadConn
from central.api.paging import Page, PagingDep
from central.api.schemas.shipping import InvoiceOut
from central.shipping import invoicing
from runtime.http_errors import error_responses

router = APIRouter(prefix="/invoices", tags=["invoices"])


@router.get("", response_model=Page[InvoiceOut])
async def list_invoices(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    order: int | None = None,
    customer: str | None = None,
    issued_after: datetime | None = None,
    issued_before: datetime | None = None,
) -> dict[str, object]:
    """Invoices, newest first; ``order`` is a sales order id, ``customer`` a customer code,
    ``issued_after`` inclusive and ``issued_before`` exclusive."""
    items = await invoicing.list_invoices(
        conn,
        sites=caller.site_filter(site),
        order_id=order,
        customer=customer,
        issued_after=issued_after,
        issued_before=issued_before,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/{number}", response_model=InvoiceOut, responses=error_responses(404, 409))
async def get_invoice(
    number: str, conn: ReadConn, caller: CallerDep, site: str | None = None
) -> invoicing.Invoice:
    """One invoice with its lines and total; ``site`` when the number is at several sites."""
    return await invoicing.get_invoice(conn, caller=caller, number=number, site=site)

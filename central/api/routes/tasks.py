"""/tasks: the warehouse's pick tasks, in wave and walking order, and who picks them."""

from fastapi import APIRouter

from central.api.deps import CallerDep, ReadConn, WarehouseCaller, WriteConn
from central.api.paging import Page, PagingDep
from central.api.schemas.orders import AssignIn, TaskOut
from central.db.enums import TaskStatus
from central.orders import tasks
from runtime.http_errors import error_responses

router = APIRouter(prefix="/tasks", tags=["pick tasks"])


@router.get("", response_model=Page[TaskOut])
async def list_tasks(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    zone: str | None = None,
    status: TaskStatus | None = None,
    order: str | None = None,
    assignee: str | None = None,
    wave: str | None = None,
) -> dict[str, object]:
    """Pick tasks by wave, then walking order; ``zone`` is a location code prefix, ``order``
    an order's id or number."""
    items = await tasks.list_tasks(
        conn,
        sites=caller.site_filter(site),
        zone=zone,
        status=status,
        order=order,
        assignee=assignee,
        wave=wave,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.post("/{number}/assign", response_model=TaskOut, responses=error_responses(404, 409))
async def assign_task(
    number: str, body: AssignIn, conn: WriteConn, caller: WarehouseCaller, site: str | None = None
) -> tasks.Task:
    """Give an open task to a picker; 409 once it is done or cancelled."""
    return await tasks.assign_task(
        conn, caller=caller, number=number, assignee=body.assignee, site=site
    )

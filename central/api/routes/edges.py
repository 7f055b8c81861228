"""/edges: the registry (provisioning, presence) and its alarms."""

from fastapi import APIRouter, status

from central.api.deps import AdminCaller, CallerDep, ReadConn, SettingsDep, WriteConn
from central.api.paging import Page, PagingDep
from central.api.schemas.edges import AlarmOut, EdgeIn, EdgeOut, EdgeProvisioned
from central.edges import registry
from central.identity import central_key_hex

router = APIRouter(prefix="/edges", tags=["edges"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EdgeProvisioned)
async def provision_edge(
    body: EdgeIn, conn: WriteConn, caller: AdminCaller, settings: SettingsDep
) -> dict[str, object]:
    """Register an edge and answer its signing secret, this once; again rotates the secret.

    The answer also carries ``central_key``, the public key of central's signed state."""
    caller.require_site(body.site)
    central_key = central_key_hex(settings)
    secret = await registry.provision_edge(
        conn, site=body.site, edge_id=body.edge_id, caller=caller
    )
    return {
        "site": body.site,
        "edge_id": body.edge_id,
        "secret": secret,
        "central_key": central_key,
    }


@router.get("", response_model=Page[EdgeOut])
async def list_edges(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
) -> dict[str, object]:
    """Registered edges: online, queue depth, oldest pending, last seen, last seq."""
    items = await registry.list_edges(
        conn,
        sites=caller.site_filter(site),
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/alarms", response_model=Page[AlarmOut])
async def list_alarms(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    edge: str | None = None,
    kind: str | None = None,
) -> dict[str, object]:
    """Edge alarms, newest first (SEQ_GAP: actions that never reached central)."""
    items = await registry.list_alarms(
        conn,
        sites=caller.site_filter(site),
        edge=edge,
        kind=kind,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)

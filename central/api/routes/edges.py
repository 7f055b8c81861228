"""/edges: the registry (provisioning, presence) and its alarms."""

from datetime import timedelta

from fastapi import APIRouter, status

from central.api.deps import (
    AdminCaller,
    CallerDep,
    EdgeBoxDep,
    ReadConn,
    SettingsDep,
    WriteConn,
)
from central.api.paging import Page, PagingDep
from central.api.schemas.edges import (
    AlarmOut,
    EdgeIn,
    EdgeKeyIssued,
    EdgeOut,
    EdgeProvisioned,
    EdgeRevoked,
    RotateIn,
)
from central.broker.accounts import create_edge_account
from central.edges import registry, rotation
from central.identity import central_key_hex
from protocol.types import Name
from runtime.http_errors import error_responses

router = APIRouter(prefix="/edges", tags=["edges"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EdgeProvisioned,
    responses=error_responses(404, 409),
)
async def provision_edge(
    body: EdgeIn, conn: WriteConn, caller: AdminCaller, box: EdgeBoxDep, settings: SettingsDep
) -> dict[str, object]:
    """Register an edge and answer its signing secret and broker login, this once; again
    replaces both at once (a replaced device; rotate-secret keeps the old key for an
    overlap). The answer also carries ``central_key``, the public key of central's signed
    state."""
    caller.require_site(body.site)
    central_key = central_key_hex(settings)
    secret = await registry.provision_edge(
        conn, site=body.site, edge_id=body.edge_id, box=box, caller=caller
    )
    account = await create_edge_account(conn, site=body.site, edge_id=body.edge_id)
    return {
        "site": body.site,
        "edge_id": body.edge_id,
        "secret": secret,
        "mqtt_username": account.username,
        "mqtt_password": account.password,
        "central_key": central_key,
    }


@router.post(
    "/{site}/{edge_id}/rotate-secret",
    response_model=EdgeKeyIssued,
    responses=error_responses(404, 409),
)
async def rotate_secret(
    site: Name,
    edge_id: Name,
    conn: WriteConn,
    caller: AdminCaller,
    box: EdgeBoxDep,
    settings: SettingsDep,
    body: RotateIn | None = None,
) -> rotation.IssuedKey:
    """Issue the edge a new key, shown this once; its current key stays accepted for what it
    queued before, until the overlap passes or the edge signs with the new key."""
    caller.require_site(site)
    return await rotation.rotate_secret(
        conn,
        site=site,
        edge_id=edge_id,
        box=box,
        overlap=timedelta(hours=settings.edge_key_overlap_hours),
        caller=caller,
        force=body.force if body is not None else False,
    )


@router.post(
    "/{site}/{edge_id}/revoke", response_model=EdgeRevoked, responses=error_responses(404, 409)
)
async def revoke_edge(
    site: Name, edge_id: Name, conn: WriteConn, caller: AdminCaller
) -> rotation.Revoked:
    """Refuse the edge from now on: its actions are rejected EDGE_REVOKED."""
    caller.require_site(site)
    return await rotation.revoke_edge(conn, site=site, edge_id=edge_id, caller=caller)


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

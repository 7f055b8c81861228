"""/tokens, /me and /audit: API tokens (roles, sites), the caller, the audit log of API writes."""

from fastapi import APIRouter, status

from central.access import audit, tokens
from central.access.tokens import MadeToken, Token
from central.api.deps import AdminCaller, CallerDep, ReadConn, WriteConn
from central.api.paging import Page, PagingDep
from central.api.schemas.access import AuditOut, CallerOut, TokenIn, TokenMade, TokenOut
from runtime.http_errors import error_responses

router = APIRouter(tags=["access"])


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenMade,
    responses=error_responses(404, 409),
)
async def create_token(body: TokenIn, conn: WriteConn, caller: AdminCaller) -> MadeToken:
    """Make a token for a person or a system, with at most the caller's roles and sites; the
    token is answered this once."""
    row, token = await tokens.create_token(
        conn,
        caller=caller,
        name=body.name,
        roles=list(body.roles),
        sites=list(body.sites),
        expires_at=body.expires_at,
    )
    return MadeToken.of(row, token)


@router.get("/tokens", response_model=list[TokenOut])
async def list_tokens(conn: ReadConn, caller: AdminCaller) -> list[Token]:
    """The tokens within the caller's sites, by name, without secrets."""
    return await tokens.list_tokens(conn, caller=caller)


@router.delete("/tokens/{name}", response_model=TokenOut, responses=error_responses(404, 409))
async def revoke_token(name: str, conn: WriteConn, caller: AdminCaller) -> Token:
    """Revoke a token within the caller's sites: refused from the next call on."""
    return await tokens.revoke_token(conn, caller=caller, name=name)


@router.get("/me", response_model=CallerOut)
async def me(caller: CallerDep) -> dict[str, object]:
    """The caller the presented token stands for (roles, sites)."""
    sites = None if caller.sites is None else sorted(caller.sites)
    return {"name": caller.name, "roles": sorted(caller.roles), "sites": sites}


@router.get("/audit", response_model=Page[AuditOut])
async def list_audit(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    action: str | None = None,
) -> dict[str, object]:
    """Audited API writes of the caller's sites, newest first."""
    items = await audit.list_entries(
        conn,
        sites=caller.site_filter(site),
        action=action,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)

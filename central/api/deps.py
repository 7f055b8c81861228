"""Dependencies shared by the routes, as Annotated aliases."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central.access.callers import OPEN_CALLER, Caller, caller_for_token
from central.actions.processor import ActionProcessor
from central.apply.context import ApplyContext
from central.apply.refs import ReferenceCache
from central.clock import now
from central.edges.sealing import EdgeSecretBox
from central.errors import Unauthorized
from central.events.feed import EventFeed
from central.settings import CentralSettings
from runtime.http_limits import mark_identified


def get_settings(request: Request) -> CentralSettings:
    """The settings the app was created with."""
    settings: CentralSettings = request.app.state.settings
    return settings


def get_engine(request: Request) -> AsyncEngine:
    """The app's database engine."""
    engine: AsyncEngine = request.app.state.engine
    return engine


def get_processor(request: Request) -> ActionProcessor:
    """The apply path shared with MQTT ingest."""
    processor: ActionProcessor = request.app.state.processor
    return processor


def get_refs(request: Request) -> ReferenceCache:
    """The process's one reference cache, shared by the API and the apply path."""
    refs: ReferenceCache = request.app.state.refs
    return refs


def get_edge_box(request: Request) -> EdgeSecretBox:
    """Seals and opens edge keys (the apply path's, so the master key is read once)."""
    box: EdgeSecretBox = request.app.state.processor.edge_box
    return box


def get_event_feed(request: Request) -> EventFeed:
    """The process's tail of the outbox that event streams share."""
    feed: EventFeed = request.app.state.event_feed
    return feed


SettingsDep = Annotated[CentralSettings, Depends(get_settings)]
EdgeBoxDep = Annotated[EdgeSecretBox, Depends(get_edge_box)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
ProcessorDep = Annotated[ActionProcessor, Depends(get_processor)]
RefsDep = Annotated[ReferenceCache, Depends(get_refs)]
EventFeedDep = Annotated[EventFeed, Depends(get_event_feed)]


async def read_connection(engine: EngineDep) -> AsyncIterator[AsyncConnection]:
    """A connection for reads (on SQLite a deferred transaction that never blocks writers)."""
    async with engine.connect() as conn:
        yield await conn.execution_options(ioe_read_only=True)


async def write_connection(engine: EngineDep) -> AsyncIterator[AsyncConnection]:
    """A transaction committed when the handler returns, before the response is sent."""
    async with engine.begin() as conn:
        yield conn


async def get_caller(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Caller:
    """Who is calling. Open (an admin of every site) when central has no admin token.
    Kept on the request, so a refusal further on (a 403) can name the token misused."""
    if not settings.admin_token:
        return OPEN_CALLER
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("this call needs a token: Authorization: Bearer <token>")
    token = authorization[len("bearer ") :].strip()
    async with engine.connect() as conn:
        conn = await conn.execution_options(ioe_read_only=True)  # never waits on a writer
        caller = await caller_for_token(conn, token=token, admin_token=settings.admin_token)
    request.state.caller = caller
    mark_identified(request.scope.setdefault("state", {}))  # its failures are its own
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def require(*roles: str) -> Any:
    """A dependency that answers the caller when it holds one of ``roles`` (admins always do)."""

    async def caller_with_role(caller: CallerDep) -> Caller:
        caller.require(*roles)
        return caller

    return Depends(caller_with_role)


ReadConn = Annotated[AsyncConnection, Depends(read_connection, scope="function")]
WriteConn = Annotated[AsyncConnection, Depends(write_connection, scope="function")]


async def apply_context(
    conn: WriteConn, settings: SettingsDep, refs: RefsDep
) -> AsyncIterator[ApplyContext]:
    """The apply context of an API write: the request's transaction and the shared reference
    cache; its ledger rows are caused by the call's audit entry (``cause = 'api'``). When the
    handler returns, before the commit, it finishes (what it still buffers written, events told
    after a service's last flush too; low-stock thresholds checked); a handler that raised
    rolls everything back instead."""
    ctx = ApplyContext(conn, settings, refs, recorded_at=now(), cause="api")
    yield ctx
    await ctx.finish()


ApplyDep = Annotated[ApplyContext, Depends(apply_context, scope="function")]
# Who may write what: one alias per role of the plant, plus the supervisors who resolve
# conflicts (any floor role) and admins (tokens, edges).
TechnicalCaller = Annotated[Caller, require("technical")]
PlanningCaller = Annotated[Caller, require("planning")]
ProductionCaller = Annotated[Caller, require("production")]
WarehouseCaller = Annotated[Caller, require("warehouse")]
QualityCaller = Annotated[Caller, require("quality")]
SupervisorCaller = Annotated[Caller, require("production", "warehouse", "quality")]
AdminCaller = Annotated[Caller, require("admin")]

"""Dependencies shared by the routes, as Annotated aliases."""

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central.errors import Forbidden, Unauthorized
from central.services.common import MAX_PAGE
from central.services.processor import ActionProcessor
from central.settings import CentralSettings


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


SettingsDep = Annotated[CentralSettings, Depends(get_settings)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
ProcessorDep = Annotated[ActionProcessor, Depends(get_processor)]


async def read_connection(engine: EngineDep) -> AsyncIterator[AsyncConnection]:
    """A connection for reads (on SQLite a deferred transaction that never blocks writers)."""
    async with engine.connect() as conn:
        yield await conn.execution_options(ioe_read_only=True)


async def write_connection(engine: EngineDep) -> AsyncIterator[AsyncConnection]:
    """A transaction committed when the handler returns, before the response is sent."""
    async with engine.begin() as conn:
        yield conn


def require_admin(settings: SettingsDep,
                  authorization: Annotated[str | None, Header()] = None) -> None:
    """When central has an admin token, the call must carry it as a Bearer token."""
    if not settings.admin_token:
        return
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("this call needs the admin token: Authorization: Bearer <token>")
    given = authorization[len("bearer "):].strip()
    if not hmac.compare_digest(given.encode(), settings.admin_token.encode()):
        raise Forbidden("the admin token was refused")


ReadConn = Annotated[AsyncConnection, Depends(read_connection, scope="function")]
WriteConn = Annotated[AsyncConnection, Depends(write_connection, scope="function")]
AdminDep = Annotated[None, Depends(require_admin)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="rows per page")]
Offset = Annotated[int, Query(ge=0, description="rows to skip")]

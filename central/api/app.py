"""The FastAPI application: routes under /api/v1, health probes, one error shape."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from central.actions.processor import ActionProcessor
from central.api.errors import install_error_handlers
from central.api.gate import failure_limiter, install_limits
from central.api.routes import (
    actions,
    boms,
    conflicts,
    control_tower,
    counts,
    edges,
    events,
    fulfilment,
    health,
    invoices,
    license_plates,
    locations,
    lots,
    low_stock,
    order_sync,
    orders,
    products,
    purchase_orders,
    quality,
    security,
    shipment_links,
    shipment_tracking,
    shipments,
    sites,
    stock,
    tasks,
    tokens,
    webhooks,
    work_orders,
)
from central.db.engine import make_engine
from central.events.feed import EventFeed
from central.order_sync.periodic import periodic_order_sync
from central.settings import CentralSettings
from runtime.api_docs import install_api_docs
from runtime.http_errors import error_responses
from runtime.request_checks import BodyGuard, check_params

API_PREFIX = "/api/v1"


def create_app(
    settings: CentralSettings,
    *,
    engine: AsyncEngine | None = None,
    processor: ActionProcessor | None = None,
    readiness: Callable[[], dict[str, bool]] | None = None,
) -> FastAPI:
    """Build central's API; an engine made here (none passed in) is disposed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Start the periodic order sync when the settings ask for one; at the end stop it
        and dispose the engine this app made, if it made one."""
        periodic = periodic_order_sync(app.state.settings, app.state.engine)
        task = None if periodic is None else asyncio.create_task(periodic.run(), name="order-sync")
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await app.state.event_feed.close()
            if app.state.owned_engine is not None:
                await app.state.owned_engine.dispose()

    app = FastAPI(
        title="IOE central",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # served from the package by install_api_docs, not from a CDN
        redoc_url=None,
        description="Products and BOMs, work orders, license plates and their "
        "genealogy, the stock-move ledger, quality holds, stock counts, "
        "the edge registry, the conflict inbox, and the action apply path.",
        dependencies=[Depends(check_params)],
    )
    # Every API call may meet the gate (401), the body limit and reader (400, 413), the
    # failure budget (429), the caller's roles (403) and a database outage (503).
    api = APIRouter(prefix=API_PREFIX, responses=error_responses(400, 401, 403, 413, 429, 503))
    for module in (
        products,
        low_stock,
        boms,
        locations,
        work_orders,
        purchase_orders,
        # Before /shipments/{id} (its ids are integers): these fixed paths must match first.
        order_sync,
        shipment_tracking,
        shipment_links,
        shipments,
        invoices,
        fulfilment,
        orders,
        tasks,
        edges,
        actions,
        license_plates,
        lots,
        stock,
        quality,
        counts,
        conflicts,
        control_tower,
        tokens,
        security,
        sites,
        events,
        webhooks,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health.router)
    install_api_docs(app)
    install_error_handlers(app)
    # Innermost: POST /actions reads its body raw (poison elements are refused one by one,
    # with acks); every other body is checked for NUL, huge integers and depth. Outside it:
    # the body limit, the token gate and the failure budget (central/api/gate.py).
    app.add_middleware(BodyGuard, raw_body_paths=frozenset({f"{API_PREFIX}/actions"}))
    install_limits(app)
    wire_app(app, settings, engine=engine, processor=processor, readiness=readiness)
    return app


def wire_app(
    app: FastAPI,
    settings: CentralSettings,
    *,
    engine: AsyncEngine | None = None,
    processor: ActionProcessor | None = None,
    readiness: Callable[[], dict[str, bool]] | None = None,
) -> None:
    """Point the app's routes at settings, a database and an apply path: everything a request
    reaches lives in ``app.state``. Building the routes costs ~50 ms (FastAPI analyses every
    route's dependencies), so a test suite builds an app once and re-wires it per test."""
    app.state.owned_engine = (
        None if engine is not None else make_engine(settings.db_url, outbox=settings.outbox)
    )
    engine = engine if engine is not None else app.state.owned_engine
    app.state.settings = settings
    app.state.engine = engine
    app.state.processor = processor or ActionProcessor(engine, settings)
    app.state.refs = app.state.processor.refs  # one reference cache per process
    app.state.readiness = readiness
    app.state.failure_limiter = failure_limiter(settings)
    app.state.token_lookups = failure_limiter(settings)
    app.state.event_feed = EventFeed(engine, settings)  # SSE streams' shared tail, started lazily

"""Builds the local API: the routers under /api/v1, /healthz, and one error shape."""

from fastapi import APIRouter, Depends, FastAPI
from starlette.types import Scope

from edge.api.auth import ApiKeyGuard, holds_key
from edge.api.deps import EdgeParts, LinkStatus
from edge.api.errors import error_responses, install_error_handlers
from edge.api.routes import API_ROUTERS, ROOT_ROUTERS
from edge.config import EdgeConfig
from edge.conflicts import ConflictDesk
from edge.errors import ConfigError
from edge.events import EventBus
from edge.lookups import RefLookups
from edge.progress import StationProgress
from edge.queue import ActionQueue
from edge.scanners.hub import ScannerHub
from edge.station_log import StationLog
from edge.stations import StationRunner
from runtime.api_docs import install_api_docs
from runtime.http_limits import BodyLimit, FailureLimit, remote_host
from runtime.rate_limit import RateLimiter
from runtime.request_checks import BodyGuard, check_params

API_PREFIX = "/api/v1"


def create_edge_api(
    *,
    config: EdgeConfig,
    queue: ActionQueue,
    stations: StationRunner,
    events: EventBus,
    status: LinkStatus,
    scanners: ScannerHub | None = None,
    lookups: RefLookups | None = None,
    conflicts: ConflictDesk | None = None,
) -> FastAPI:
    """The local API app; ``status`` supplies the sync loop's connectivity figures.

    Raises ConfigError when the API would listen beyond this machine without an API key.
    """
    if config.api_key_required and not config.api_key:
        raise ConfigError(
            f"the edge's local API listens on {config.host} and has no api_key; "
            "set api_key in edge.toml (or IOE_EDGE_API_KEY), or listen on 127.0.0.1"
        )
    app = FastAPI(
        title=f"IOE edge {config.site}/{config.edge_id}",
        version="1",
        dependencies=[Depends(check_params)],
        docs_url=None,  # served from the package by install_api_docs, not from a CDN
        redoc_url=None,
    )
    app.state.edge = EdgeParts(
        config=config,
        queue=queue,
        stations=stations,
        events=events,
        status=status,
        scanners=scanners if scanners is not None else ScannerHub(events),
        progress=StationProgress(config, queue, stations, lookups),
        conflicts=conflicts if conflicts is not None else ConflictDesk(config, StationLog(queue)),
        lookups=lookups,
    )
    # Every API call may meet the key check (401), the body limit and reader (400, 413) and
    # the failure budget (429).
    api = APIRouter(prefix=API_PREFIX, responses=error_responses(400, 401, 413, 429))
    for router in API_ROUTERS:
        api.include_router(router)
    app.include_router(api)
    for router in ROOT_ROUTERS:
        app.include_router(router)
    install_api_docs(app)
    install_error_handlers(app)
    # Outermost last: failure budget, then the key check, then the body limit, then the body
    # checks, so a caller without the key never has its body read. The failure budget is for
    # callers on other machines without the key: the kiosks and integrations on this box share
    # one address (loopback), so one buggy neighbour would lock all of them out.
    app.add_middleware(BodyGuard)
    app.add_middleware(BodyLimit, limit=config.max_body_bytes)
    app.add_middleware(ApiKeyGuard, api_key=config.api_key, required=config.api_key_required)
    limiter = RateLimiter(rate=config.failure_rate, burst=config.failure_burst)

    async def vouch(scope: Scope) -> bool:
        """A caller with the key is not held back by its address's budget."""
        return holds_key(scope, config.api_key)

    app.add_middleware(FailureLimit, limiter=limiter, source=remote_host, vouch=vouch)
    return app

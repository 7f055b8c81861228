"""The edge's local API for kiosks and tools; it never calls central, so it works offline."""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from edge.config import EdgeConfig
from edge.errors import (
    EdgeError,
    QueueError,
    QueueFullError,
    ScanError,
    UnknownStationError,
)
from edge.events import Event, EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner
from protocol import ProtocolError, parse_ts

KEEPALIVE_SECONDS = 15.0


class ScanIn(BaseModel):
    """A raw scan, exactly as the scanner would have sent it."""

    data: str = Field(max_length=4096)


class ActionIn(BaseModel):
    """An action to enqueue for a station, e.g. from a kiosk form."""

    type: str
    station: str
    operator: str
    body: dict[str, Any]


class ApiError(Exception):
    """An error answer: HTTP status, stable code, human message."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    """The JSON error shape shared with central: {"code", "message", "details"}."""
    return JSONResponse(
        status_code=status,
        content={"code": code, "message": message, "details": jsonable_encoder(details)},
    )


def _edge_error(err: EdgeError) -> ApiError:
    """One place that maps the edge's errors to HTTP."""
    if isinstance(err, UnknownStationError):
        return ApiError(404, "STATION_NOT_FOUND", str(err))
    if isinstance(err, ScanError):
        return ApiError(422, "SCAN_INVALID", str(err))
    if isinstance(err, QueueFullError):
        return ApiError(507, "QUEUE_FULL", str(err))
    if isinstance(err, QueueError):
        return ApiError(503, "QUEUE_ERROR", str(err))
    return ApiError(500, "EDGE_ERROR", str(err))


def queue_status(
    stats: dict[str, Any], status: dict[str, Any], backlog_warn_seconds: float
) -> dict[str, Any]:
    """Queue figures plus connectivity, with a backlog warning past the age threshold."""
    age = None
    if stats.get("oldest_pending_ts"):
        age = max(0.0, (datetime.now(UTC) - parse_ts(stats["oldest_pending_ts"])).total_seconds())
    return {
        **stats,
        "broker_connected": bool(status.get("broker_connected", False)),
        "central_online": bool(status.get("central_online", False)),
        **{k: v for k, v in status.items() if k not in ("broker_connected", "central_online")},
        "backlog_age_seconds": age,
        "backlog_warn_seconds": backlog_warn_seconds,
        "backlog_warning": age is not None and age > backlog_warn_seconds,
    }


def create_edge_api(
    *,
    config: EdgeConfig,
    queue: ActionQueue,
    stations: StationRunner,
    events: EventBus,
    status: Callable[[], dict[str, Any]],
) -> FastAPI:
    """The local API app; ``status`` supplies the sync loop's connectivity figures."""
    app = FastAPI(title=f"IOE edge {config.site}/{config.edge_id}", version="1")

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError) -> JSONResponse:
        return error_response(err.status, err.code, err.message, err.details)

    @app.exception_handler(EdgeError)
    async def _edge(request: Request, err: EdgeError) -> JSONResponse:
        mapped = _edge_error(err)
        return error_response(mapped.status, mapped.code, mapped.message)

    @app.exception_handler(ProtocolError)
    async def _protocol(request: Request, err: ProtocolError) -> JSONResponse:
        return error_response(422, err.code, err.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return error_response(
            422, "REQUEST_INVALID", "the request is not valid", details=err.errors()
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        code = "NOT_FOUND" if err.status_code == 404 else f"HTTP_{err.status_code}"
        return error_response(err.status_code, code, str(err.detail))

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness: the API answers and the queue can be read."""
        await queue.stats()
        return {"status": "ok", "site": config.site, "edge": config.edge_id}

    @app.post("/api/v1/stations/{station}/scans")
    async def post_scan(station: str, scan: ScanIn) -> dict[str, Any]:
        """A scan, handled exactly as if the station's scanner had read it."""
        outcome = await stations.handle_scan(station, scan.data)
        return outcome.to_dict()

    @app.get("/api/v1/stations")
    async def list_stations() -> list[dict[str, Any]]:
        """Every station's current context."""
        return [asdict(stations.state(name)) for name in stations.names]

    @app.get("/api/v1/stations/{station}")
    async def get_station(station: str) -> dict[str, Any]:
        """One station's current context (operator, step, location, work order)."""
        return asdict(stations.state(station))

    @app.post("/api/v1/actions", status_code=201)
    async def post_action(action: ActionIn) -> dict[str, Any]:
        """Enqueue an action; answers only after it is committed to disk."""
        queued = await queue.enqueue(
            type=action.type, station=action.station, operator=action.operator, body=action.body
        )
        return {"id": queued.id, "seq": queued.seq, "state": queued.state, "ts": queued.ts}

    @app.get("/api/v1/actions/{action_id}")
    async def get_action(action_id: str) -> dict[str, Any]:
        """An action's state, with central's code and message once acked."""
        record = await queue.get(action_id)
        if record is None:
            raise ApiError(404, "ACTION_NOT_FOUND", f"no action {action_id!r} on this edge")
        return asdict(record)

    @app.get("/api/v1/queue")
    async def get_queue() -> dict[str, Any]:
        """Depth, oldest pending ts, last acked seq, connectivity and the backlog warning."""
        stats = asdict(await queue.stats())
        return queue_status(stats, status(), config.backlog_warn_seconds)

    @app.get("/api/v1/events")
    async def get_events() -> StreamingResponse:
        """Server-sent events: scans, action state changes, connectivity, warnings."""
        subscription = events.subscribe()  # before answering, so nothing falls in between

        async def stream() -> AsyncIterator[str]:
            try:
                # A snapshot first: the client learns the link state without waiting.
                yield Event(id=0, kind="connectivity", data=status()).sse()
                while True:
                    try:
                        event = await asyncio.wait_for(subscription.get(), KEEPALIVE_SECONDS)
                    except TimeoutError:
                        yield ": keepalive\n\n"  # keeps proxies from closing an idle stream
                        continue
                    yield event.sse()
            finally:
                subscription.close()

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app

"""A stand-in edge that answers with a real edge's recorded answers (`recorded/`), over HTTP.

The kiosk reads it through its real EdgeClient exactly as it reads an edge: the station, its
progress, the queue, the conflicts, a lookup, the operators, and the station's events as a
server-sent-event stream that stays open. It runs in its own thread (its own event loop), so
a test can stop it while the kiosk runs: the kiosk then finds its edge gone.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse

from tests.terminals.record_edge import RECORDED, TIMESTAMP


def recorded(station: str) -> dict[str, Any]:
    """The station's recorded answers, with the edge-wide ones under "edge"."""
    body: dict[str, Any] = json.loads((RECORDED / f"{station}.json").read_text())
    body["edge"] = json.loads((RECORDED / "edge.json").read_text())
    return body


def recorded_now(station: str, after: timedelta = timedelta(seconds=90)) -> datetime:
    """A fixed "now" for the kiosk: a little after the recording's last timestamp."""
    text = (RECORDED / f"{station}.json").read_text() + (RECORDED / "edge.json").read_text()
    stamps = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in TIMESTAMP.findall(text)]
    return max(stamps) + after


def _not_found(code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "details": {}}, status_code=404)


def recorded_api(answers: dict[str, Any], stopping: threading.Event) -> FastAPI:
    """The edge's local API routes a kiosk reads, answering from the recording."""
    api = FastAPI()
    name = answers["station"]["name"]
    edge = answers["edge"]

    @api.get("/api/v1/stations/{station}")
    async def station(station: str) -> Any:
        if station != name:
            return _not_found("STATION_NOT_FOUND", f"no station {station}")
        return answers["station"]

    @api.get("/api/v1/stations/{station}/progress")
    async def progress(station: str) -> Any:
        if station != name:
            return _not_found("STATION_NOT_FOUND", f"no station {station}")
        return answers["progress"]

    @api.get("/api/v1/queue")
    async def queue() -> Any:
        return edge["queue"]

    @api.get("/api/v1/conflicts")
    async def conflicts() -> Any:
        return answers["conflicts"]

    @api.get("/api/v1/operators/{operator}")
    async def operator(operator: str) -> Any:
        return edge["operators"].get(operator, {"id": operator, "supervisor": False})

    @api.get("/api/v1/lookup/lp/{number}")
    async def lookup(number: str) -> Any:
        found = edge["lookup"].get(number)
        return found if found else _not_found("NOT_IN_CACHE", f"LP {number} is not known")

    @api.get("/api/v1/events")
    async def events() -> StreamingResponse:
        async def frames() -> AsyncIterator[str]:
            for event in answers["events"]:
                yield f"event: {event['event']}\ndata: {json.dumps(event['data'])}\n\n"
            while not stopping.is_set():  # open, as an edge's stream is, until it goes
                await asyncio.sleep(0.05)

        return StreamingResponse(frames(), media_type="text/event-stream")

    return api


class RecordedEdge:
    """The recorded answers of one station served on a free local port, in a thread."""

    def __init__(self, station: str) -> None:
        self.answers = recorded(station)
        self._stopping = threading.Event()
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            recorded_api(self.answers, self._stopping),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> RecordedEdge:
        self._thread.start()
        deadline = datetime.now() + timedelta(seconds=10)
        while not self._server.started:
            if datetime.now() > deadline:
                raise RuntimeError("the recorded edge did not start")
            threading.Event().wait(0.02)
        return self

    def stop(self) -> None:
        """The edge goes away: its stream ends and its port stops answering."""
        self._stopping.set()
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            self.stop()

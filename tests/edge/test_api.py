"""The edge local API over a real queue file; central is never involved."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from edge.api import create_edge_api
from edge.config import EdgeConfig
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner
from protocol import Ack

LINK = {"broker_connected": False, "central_online": False}


@pytest.fixture
def app(config: EdgeConfig, queue: ActionQueue, bus: EventBus) -> FastAPI:
    return create_edge_api(
        config=config,
        queue=queue,
        stations=StationRunner(config, queue, bus),
        events=bus,
        status=lambda: dict(LINK),
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as c:
        yield c


RECEIVE = {
    "type": "lp.receive",
    "station": "pack-2",
    "operator": "op-1",
    "body": {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV"},
}


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.json() == {"status": "ok", "site": "plant-1", "edge": "edge-07"}


async def test_post_action_answers_after_commit(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    response = await client.post("/api/v1/actions", json=RECEIVE)
    assert response.status_code == 201
    answer = response.json()
    assert (answer["seq"], answer["state"]) == (1, "queued")
    assert (await queue.get(answer["id"])).state == "queued"
    state = await client.get(f"/api/v1/actions/{answer['id']}")
    assert state.status_code == 200
    assert {k: state.json()[k] for k in ("id", "seq", "state", "code", "message")} == {
        "id": answer["id"],
        "seq": 1,
        "state": "queued",
        "code": None,
        "message": None,
    }


async def test_action_state_shows_central_outcome(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    action_id = (await client.post("/api/v1/actions", json=RECEIVE)).json()["id"]
    await queue.apply_acks(
        [
            Ack(
                id=action_id,
                seq=1,
                result="conflict",
                code="LP_NOT_FOUND",
                message="no such LP",
                conflict_id=3,
            )
        ]
    )
    body = (await client.get(f"/api/v1/actions/{action_id}")).json()
    assert (body["state"], body["code"], body["message"], body["conflict_id"]) == (
        "conflict",
        "LP_NOT_FOUND",
        "no such LP",
        3,
    )


@pytest.mark.parametrize(
    "change, code",
    [
        ({"type": "lp.teleport"}, "UNKNOWN_ACTION_TYPE"),
        ({"body": {"item": "RAW-1", "qty": 5, "uom": "kg", "location": "RECV"}}, "BODY_INVALID"),
        ({"operator": "op 1"}, "SCHEMA_INVALID"),
        ({"body": None}, "VALIDATION_ERROR"),
    ],
)
async def test_post_action_refusals(client: httpx.AsyncClient, change: dict, code: str) -> None:
    response = await client.post("/api/v1/actions", json=RECEIVE | change)
    assert response.status_code == 422
    assert response.json()["code"] == code and response.json()["message"]
    assert set(response.json()) == {"code", "message", "details"}
    assert isinstance(response.json()["details"], dict)


async def test_unknown_action_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/actions/0193a5c2-7a1e-7b3c-8d4e-5f6a7b8c9d0e")
    assert (response.status_code, response.json()["code"]) == (404, "ACTION_NOT_FOUND")


async def test_scan_endpoint(client: httpx.AsyncClient, queue: ActionQueue) -> None:
    url = "/api/v1/stations/pack-2/scans"
    refused = (await client.post(url, json={"data": "QTY:5\r\n"})).json()
    assert (refused["result"], refused["code"]) == ("refused", "NEED_LP")
    assert refused["message"] == (
        "quantity 5 does not fit here: scan an LP to move, or the location to put LPs away to"
    )
    assert refused["expected"] == ["lp", "location"]
    context = (await client.post(url, json={"data": "LOC:A-02"})).json()
    assert (context["result"], context["state"]["location"]) == ("context", "A-02")
    assert context["expect"] == "scan an LP to put away to A-02 (CMD:done when finished)"
    queued = (await client.post(url, json={"data": "]C0LP1\r\n"})).json()
    assert queued["result"] == "queued" and queued["action"]["seq"] == 1
    assert (await queue.pending_batch(1))[0]["body"] == {"lp": "LP1", "to_location": "A-02"}
    stations = (await client.get("/api/v1/stations")).json()
    assert [s["name"] for s in stations] == ["pack-2", "line-1"]
    assert (await client.get("/api/v1/stations/pack-2")).json()["location"] == "A-02"


async def test_scan_errors(client: httpx.AsyncClient) -> None:
    bad = await client.post("/api/v1/stations/pack-2/scans", json={"data": "106141411234567890"})
    # The decoder's own code (before flows, every unreadable scan answered SCAN_INVALID).
    assert (bad.status_code, bad.json()["code"]) == (422, "GS1_INVALID")
    assert "check digit" in bad.json()["message"]
    missing = await client.post("/api/v1/stations/dock-9/scans", json={"data": "LP1"})
    assert (missing.status_code, missing.json()["code"]) == (404, "STATION_NOT_FOUND")


async def test_disk_full_is_507(client: httpx.AsyncClient, queue: ActionQueue) -> None:
    await queue.set_size_limit(1)
    for i in range(5000):
        response = await client.post(
            "/api/v1/actions", json=RECEIVE | {"body": RECEIVE["body"] | {"lp": f"LP{i}"}}
        )
        if response.status_code != 201:
            break
    assert (response.status_code, response.json()["code"]) == (507, "QUEUE_FULL")
    assert "disk is full" in response.json()["message"]
    scan = await client.post("/api/v1/stations/line-1/scans", json={"data": "LP-X"})
    assert (scan.status_code, scan.json()["code"]) == (507, "QUEUE_FULL")


async def test_queue_status_and_backlog_warning(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    empty = (await client.get("/api/v1/queue")).json()
    assert (empty["depth"], empty["oldest_pending_ts"], empty["last_ack_seq"]) == (0, None, 0)
    assert (empty["broker_connected"], empty["central_online"], empty["backlog_warning"]) == (
        False,
        False,
        False,
    )
    await queue.enqueue(
        type="lp.move",
        station="pack-2",
        operator="op-1",
        body={"lp": "LP1", "to_location": "A-01"},
        ts=datetime.now(UTC) - timedelta(hours=1),
    )
    status = (await client.get("/api/v1/queue")).json()
    assert status["depth"] == 1 and status["counts"]["queued"] == 1
    assert status["backlog_warning"] is True and status["backlog_age_seconds"] > 3500


async def _serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Serve the app on a real socket: SSE needs a streaming transport."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(10):  # uvicorn sets a flag, no event, once it serves
        while not server.started:
            await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{sock.getsockname()[1]}"


async def _next_event(lines: AsyncIterator[str]) -> tuple[str, dict[str, Any]]:
    kind, data = "", ""
    async for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif not line and kind:
            return kind, json.loads(data)
    raise AssertionError("stream ended")


async def test_events_stream_reports_a_scan(app: FastAPI) -> None:
    server, task, url = await _serve(app)
    try:
        async with (
            httpx.AsyncClient(base_url=url, timeout=10) as http,
            http.stream("GET", "/api/v1/events") as stream,
        ):
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            kind, snapshot = await asyncio.wait_for(_next_event(lines), 10)
            assert (kind, snapshot["broker_connected"]) == ("connectivity", False)
            posted = await http.post("/api/v1/stations/line-1/scans", json={"data": "LP5\r\n"})
            action_id = posted.json()["action"]["id"]
            kind, action = await asyncio.wait_for(_next_event(lines), 10)
            assert (kind, action["id"], action["state"]) == ("action", action_id, "queued")
            kind, scan = await asyncio.wait_for(_next_event(lines), 10)
            assert (kind, scan["station"], scan["result"], scan["value"]) == (
                "scan",
                "line-1",
                "queued",
                "LP5",
            )
    finally:
        server.should_exit = True
        await task


async def test_every_path_documents_its_answer(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert set(schema["paths"]) == {
        "/healthz",
        "/api/v1/stations",
        "/api/v1/stations/{station}",
        "/api/v1/stations/{station}/scans",
        "/api/v1/actions",
        "/api/v1/actions/{action_id}",
        "/api/v1/queue",
        "/api/v1/scanners",
        "/api/v1/events",
        "/api/v1/lookup",
        "/api/v1/lookup/lp/{number}",
        "/api/v1/lookup/product/{code}",
        "/api/v1/lookup/location/{code}",
        "/api/v1/lookup/work-order/{number}",
        "/api/v1/lookup/shipment/{number}",
        "/api/v1/tasks",
        "/api/v1/stations/{station}/progress",
        "/api/v1/operators/{operator_id}",
        "/api/v1/conflicts",
        "/api/v1/conflicts/{conflict_id}",
        "/api/v1/conflicts/{conflict_id}/resolve",
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            ok = next(v for k, v in operation["responses"].items() if k.startswith("2"))
            content = ok.get("content", {})
            assert content and all(c.get("schema") for c in content.values()), (method, path)
            for code, answer in operation["responses"].items():
                if code.startswith("4") or code.startswith("5"):
                    refs = answer["content"]["application/json"]["schema"]["$ref"]
                    assert refs.endswith("/ErrorOut"), (method, path, code)
    stream = schema["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"]
    data = stream["text/event-stream"]["itemSchema"]["properties"]["data"]
    assert data["contentSchema"]["$ref"] == "#/components/schemas/EventOut"

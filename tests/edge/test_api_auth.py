"""Attacks on the local API's key: every call but /healthz is refused without the right key
when the edge listens beyond this machine, and nothing reaches the queue."""

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from edge.api import create_edge_api
from edge.config import EdgeConfig, write_config
from edge.errors import ConfigError
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner
from harness import Proc, free_port, ioe_command, wait_until
from tests.edge.test_api import _next_event, _serve

API_KEY = "edge-07-local-api-key-0123456789abcdef"
ACTION = {
    "type": "lp.receive",
    "station": "pack-2",
    "operator": "op-1",
    "body": {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV"},
}
DOC_PATHS = ["/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"]


def _with(config: EdgeConfig, **changes: Any) -> EdgeConfig:
    """``config`` with ``changes``, validated as edge.toml would be."""
    return EdgeConfig.model_validate(config.model_dump() | changes)


def _app(config: EdgeConfig, queue: ActionQueue, bus: EventBus) -> FastAPI:
    return create_edge_api(
        config=config,
        queue=queue,
        stations=StationRunner(config, queue, bus),
        events=bus,
        status=lambda: {"broker_connected": False, "central_online": False},
    )


@pytest.fixture
def exposed(config: EdgeConfig, queue: ActionQueue, bus: EventBus) -> FastAPI:
    """The API of an edge listening on every interface, as in a container."""
    return _app(_with(config, host="0.0.0.0", api_key=API_KEY), queue, bus)


@pytest.fixture
async def client(exposed: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=exposed, client=("10.1.2.3", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as c:
        yield c


def every_call(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every documented operation and the docs pages, parameters filled in."""
    calls = [("GET", path) for path in DOC_PATHS]
    for path, operations in app.openapi()["paths"].items():
        path = path.replace("{station}", "pack-2").replace("{action_id}", "x")
        calls += [(method.upper(), path) for method in operations]
    return calls


def _body(method: str, path: str) -> dict[str, Any] | None:
    if method != "POST":
        return None
    return {"data": "LOC:A-01"} if path.endswith("/scans") else ACTION


async def test_every_call_but_healthz_needs_the_key(
    exposed: FastAPI, client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    calls = every_call(exposed)
    assert ("POST", "/api/v1/actions") in calls and ("GET", "/api/v1/events") in calls
    wrong = {"Authorization": f"Bearer {API_KEY[:-1]}x"}
    for headers, code in (({}, "API_KEY_REQUIRED"), (wrong, "API_KEY_INVALID")):
        for method, path in calls:
            if path == "/healthz":
                continue
            answer = await client.request(method, path, json=_body(method, path), headers=headers)
            assert (answer.status_code, answer.json()["code"]) == (401, code), (method, path)
            assert set(answer.json()) == {"code", "message", "details"}
            assert answer.headers["www-authenticate"] == "Bearer"
    assert (await client.get("/healthz")).status_code == 200
    assert (await queue.stats()).depth == 0  # nothing the refused calls sent was queued
    assert (await client.get("/api/v1/stations/pack-2")).json()["code"] == "API_KEY_REQUIRED"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "nope"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic " + API_KEY},  # not a bearer key: as if none was sent
        {"X-API-Key": API_KEY, "Authorization": "Bearer wrong"},  # one right, one wrong
        {"X-API-Key": API_KEY.upper()},
    ],
)
async def test_near_misses_are_refused(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    answer = await client.post("/api/v1/actions", json=ACTION, headers=headers)
    assert answer.status_code == 401


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
async def test_the_right_key_in_either_header_is_served(
    client: httpx.AsyncClient, queue: ActionQueue, header: str
) -> None:
    value = f"Bearer {API_KEY}" if header == "Authorization" else API_KEY
    posted = await client.post("/api/v1/actions", json=ACTION, headers={header: value})
    assert posted.status_code == 201
    read = await client.get(f"/api/v1/actions/{posted.json()['id']}", headers={header: value})
    assert read.json()["state"] == "queued"
    assert (await client.get("/openapi.json", headers={header: value})).status_code == 200
    assert (await queue.stats()).depth == 1


async def test_refusals_are_logged_with_the_caller(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="edge.api.auth"):
        await client.post("/api/v1/actions", json=ACTION, headers={"X-API-Key": "guess"})
    [record] = [r for r in caplog.records if r.name == "edge.api.auth"]
    assert "POST /api/v1/actions from 10.1.2.3:40000: API_KEY_INVALID" in record.getMessage()
    assert "guess" not in record.getMessage()


async def test_on_loopback_the_key_is_optional_but_checked(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    app = _app(_with(config, api_key=API_KEY), queue, bus)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e") as c:
        assert (await c.post("/api/v1/actions", json=ACTION)).status_code == 201
        wrong = await c.post("/api/v1/actions", json=ACTION, headers={"X-API-Key": "wrong"})
        assert (wrong.status_code, wrong.json()["code"]) == (401, "API_KEY_INVALID")
    assert (await queue.stats()).depth == 1


async def test_an_exposed_api_without_a_key_is_never_built(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    unchecked = config.model_copy(update={"host": "0.0.0.0"})  # skips validation on purpose
    with pytest.raises(ConfigError, match="listens on 0.0.0.0 and has no api_key"):
        _app(unchecked, queue, bus)


async def test_event_stream_needs_the_key(exposed: FastAPI) -> None:
    server, task, url = await _serve(exposed)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            refused = await http.get("/api/v1/events")
            assert (refused.status_code, refused.json()["code"]) == (401, "API_KEY_REQUIRED")
            headers = {"X-API-Key": API_KEY}
            async with http.stream("GET", "/api/v1/events", headers=headers) as stream:
                assert stream.status_code == 200
                kind, _ = await asyncio.wait_for(_next_event(stream.aiter_lines()), 10)
                assert kind == "connectivity"
    finally:
        server.should_exit = True
        await task


def test_a_running_edge_on_every_interface_refuses_callers_without_the_key(
    tmp_path: Path, config: EdgeConfig
) -> None:
    """`ioe edge run` itself: no start without a key; with one, the attack gets 401."""
    port = free_port()
    settings = {"host": "0.0.0.0", "port": port, "data_dir": str(tmp_path / "run")}
    settings["mqtt_url"] = f"mqtt://127.0.0.1:{free_port()}"  # no broker: the API works offline
    path = tmp_path / "edge.toml"
    write_config(_with(config, **settings, api_key=API_KEY), path)
    keyless = tmp_path / "keyless.toml"
    keyless.write_text(path.read_text().replace(f'api_key = "{API_KEY}"\n', ""))
    refused = Proc(ioe_command("edge", "run", "--config", str(keyless)), tmp_path / "keyless.log")
    try:
        assert refused.popen.wait(60) == 2
        assert "which other machines can reach, so it needs an api_key" in refused.output()
    finally:
        refused.stop()
    edge = Proc(ioe_command("edge", "run", "--config", str(path)), tmp_path / "edge.log")
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            assert edge.popen.poll() is None, edge.output()
            try:
                return httpx.get(f"{base}/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 60, what="edge API")
        forged = httpx.post(f"{base}/api/v1/actions", json=ACTION)
        assert (forged.status_code, forged.json()["code"]) == (401, "API_KEY_REQUIRED")
        guessed = httpx.get(f"{base}/api/v1/queue", headers={"X-API-Key": "guess"})
        assert (guessed.status_code, guessed.json()["code"]) == (401, "API_KEY_INVALID")
        headers = {"Authorization": f"Bearer {API_KEY}"}
        assert httpx.get(f"{base}/api/v1/queue", headers=headers).json()["depth"] == 0
        assert httpx.post(f"{base}/api/v1/actions", json=ACTION, headers=headers).status_code == 201
        assert httpx.get(f"{base}/api/v1/queue", headers=headers).json()["depth"] == 1
    finally:
        edge.stop()
    assert "refused POST /api/v1/actions from 127.0.0.1:" in edge.output()

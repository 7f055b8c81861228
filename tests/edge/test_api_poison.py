"""The edge's local API refuses what no queue or central could hold: NUL characters, integers
beyond 64 bits and bodies nested too deep are a 422 in the shared shape, and nothing is
queued; a valid action right after still goes through."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from edge.api import create_edge_api
from edge.config import EdgeConfig
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner

RECEIVE: dict[str, Any] = {
    "type": "lp.receive",
    "station": "pack-2",
    "operator": "op-1",
    "body": {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV"},
}


@pytest.fixture
async def client(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_edge_api(
        config=config,
        queue=queue,
        stations=StationRunner(config, queue, bus),
        events=bus,
        status=lambda: {"broker_connected": False, "central_online": False},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as c:
        yield c


async def refused(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> str:
    """The error type of a 422 answer."""
    response = await client.request(method, url, **kwargs)
    assert response.status_code == 422, (url, response.status_code, response.text)
    answer = response.json()
    assert set(answer) == {"code", "message", "details"} and answer["code"] == "VALIDATION_ERROR"
    return str(answer["details"]["errors"][0]["type"])


@pytest.mark.parametrize(
    "change, kind",
    [
        ({"operator": "op\x001"}, "nul_character"),
        ({"body": {**RECEIVE["body"], "lot": "L\x00"}}, "nul_character"),
        ({"body": {**RECEIVE["body"], "n": 2**63}}, "value_out_of_range"),
        ({"body": {**RECEIVE["body"], "n": -(2**63) - 1}}, "value_out_of_range"),
        ({"body": {**RECEIVE["body"], "n": 10**30}}, "value_out_of_range"),
    ],
)
async def test_actions_with_values_no_one_can_hold_are_refused(
    client: httpx.AsyncClient, queue: ActionQueue, change: dict[str, Any], kind: str
) -> None:
    assert await refused(client, "POST", "/api/v1/actions", json={**RECEIVE, **change}) == kind
    assert (await client.get("/api/v1/queue")).json()["depth"] == 0
    assert (await client.post("/api/v1/actions", json=RECEIVE)).status_code == 201


async def test_a_deep_body_is_refused_before_parsing(client: httpx.AsyncClient) -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    headers = {"content-type": "application/json"}
    kind = await refused(client, "POST", "/api/v1/actions", content=deep, headers=headers)
    assert kind == "too_deep"


async def test_nul_in_paths_queries_and_scans_is_refused(client: httpx.AsyncClient) -> None:
    assert await refused(client, "GET", "/api/v1/actions/A%00B") == "nul_character"
    assert await refused(client, "GET", "/api/v1/stations/pack%002") == "nul_character"
    assert await refused(client, "GET", "/api/v1/queue?x=%00") == "nul_character"
    scan = {"data": "0012345\x00"}
    url = "/api/v1/stations/pack-2/scans"
    assert await refused(client, "POST", url, json=scan) == "nul_character"

"""Attacks on what a caller can make the edge's local API spend: oversize bodies, bodies
without the key, floods of failing calls. Nothing reaches the queue."""

from collections.abc import AsyncIterator

import httpx

from edge.config import EdgeConfig
from edge.events import EventBus
from edge.queue import ActionQueue
from tests.edge.test_api_auth import ACTION, API_KEY, _app, _with

KEY = {"X-API-Key": API_KEY, "content-type": "application/json"}


class CountingBody:
    """A streamed body (no Content-Length) that records how many chunks were pulled."""

    def __init__(self, chunks: int) -> None:
        self.chunks, self.pulled = chunks, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield b" " * 65536


def _client(config: EdgeConfig, queue: ActionQueue, bus: EventBus, **changes) -> httpx.AsyncClient:
    app = _app(_with(config, host="0.0.0.0", api_key=API_KEY, **changes), queue, bus)
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://edge")


async def test_oversize_body_is_413_and_nothing_is_queued(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    body = CountingBody(chunks=100)  # 6.25 MiB if read to the end
    async with _client(config, queue, bus, max_body_bytes=128 * 1024) as client:
        response = await client.post("/api/v1/actions", content=body, headers=KEY)
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert body.pulled <= 3
    assert (await queue.stats()).depth == 0


async def test_the_body_limit_is_max_body_bytes_on_every_route(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    """max_body_bytes governs JSON bodies too: no second, smaller limit behind it."""
    mib = 1024 * 1024
    async with _client(config, queue, bus, max_body_bytes=8 * mib) as client:
        scan = b'{"data": "' + b"L" * (2 * mib) + b'"}'
        within = await client.post("/api/v1/stations/pack-2/scans", content=scan, headers=KEY)
        assert within.status_code == 422, within.json()  # read, parsed, refused by the schema
        over = await client.post("/api/v1/actions", content=CountingBody(chunks=150), headers=KEY)
    assert over.status_code == 413
    assert over.json()["details"] == {"limit_bytes": 8 * mib}
    assert (await queue.stats()).depth == 0


async def test_a_body_without_the_key_is_never_read(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    body = CountingBody(chunks=10)
    async with _client(config, queue, bus) as client:
        response = await client.post(
            "/api/v1/actions", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 401 and body.pulled == 0


async def test_failing_callers_get_429_then_a_right_call_from_elsewhere_works(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    async with _client(config, queue, bus, failure_rate=0.5, failure_burst=4) as client:
        codes = [(await client.get("/api/v1/queue")).status_code for _ in range(6)]
        assert codes == [401] * 4 + [429] * 2
        refused = await client.get("/api/v1/queue", headers=KEY)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    async with _client(config, queue, bus) as fresh:
        response = await fresh.post("/api/v1/actions", json=ACTION, headers=KEY)
        assert response.status_code == 201

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


async def test_a_lan_source_without_the_key_is_throttled(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    async with _client(config, queue, bus, failure_rate=0.5, failure_burst=4) as client:
        codes = [(await client.get("/api/v1/queue")).status_code for _ in range(6)]
        assert codes == [401] * 4 + [429] * 2
        refused = await client.post("/api/v1/stations/pack-2/scans", json={"data": "LP-1"})
        assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED"
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["details"]["retry_after_seconds"] >= 1
        wrong = {"X-API-Key": "x" * len(API_KEY)}
        assert (await client.get("/api/v1/queue", headers=wrong)).status_code == 429
        assert (await client.get("/healthz")).status_code == 200  # probes are never limited
    async with _client(config, queue, bus) as fresh:
        response = await fresh.post("/api/v1/actions", json=ACTION, headers=KEY)
        assert response.status_code == 201


async def test_a_kiosk_with_the_key_scans_from_a_throttled_lan_address(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    """Behind one address (a NAT, a proxy) a scanner without the key spends the budget; the
    kiosk that shows the key is not held back, and its own mistakes are not charged."""
    async with _client(config, queue, bus, failure_rate=0.5, failure_burst=4) as client:
        for _ in range(6):
            await client.get("/api/v1/queue")  # no key: 401 x 4, then 429
        scan = await client.post(
            "/api/v1/stations/pack-2/scans", json={"data": "LOC:A-02"}, headers=KEY
        )
        assert scan.status_code == 200, scan.json()
        mistakes = [
            (await client.get("/api/v1/actions/nope", headers=KEY)).status_code for _ in range(8)
        ]
        assert 429 not in mistakes and all(400 <= code < 500 for code in mistakes)
    async with _client(config, queue, bus, failure_rate=0.5, failure_burst=4) as client:
        for _ in range(8):
            assert (await client.get("/api/v1/actions/nope", headers=KEY)).status_code != 429
        assert (await client.get("/api/v1/queue")).status_code == 401  # the budget is whole


async def test_a_buggy_local_integration_does_not_lock_the_kiosk_out(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    """Every process on the edge box calls from 127.0.0.1: 230 failed calls from one of them
    (more than the default burst of 200) leave the kiosk scanning."""
    app = _app(_with(config, failure_rate=0.5), queue, bus)  # no refill while it runs
    for address in ("127.0.0.1", "::1"):
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as local:
            codes = {(await local.get("/api/v1/actions/nope")).status_code for _ in range(230)}
            assert 429 not in codes and all(400 <= code < 500 for code in codes)
            scan = await local.post("/api/v1/stations/pack-2/scans", json={"data": "LOC:A-02"})
            assert scan.status_code == 200, scan.json()

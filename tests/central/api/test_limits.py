"""Attacks on what one caller can make central spend: huge bodies, bodies with no token,
floods of failing calls, floods of junk envelopes. Each is performed and shown to fail."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from central.api.app import create_app
from central.settings import CentralSettings
from protocol import MAX_MESSAGE_BYTES
from tests.central.conftest import ADMIN_TOKEN, Central

API = "/api/v1"
JSON = {"content-type": "application/json"}


class CountingBody:
    """A streamed request body (no Content-Length) that records how much was pulled."""

    def __init__(self, chunks: int, size: int = 64 * 1024) -> None:
        self.chunks, self.size, self.pulled = chunks, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield b" " * self.size


def client_for(
    central: Central, address: str = "203.0.113.7", **settings: Any
) -> httpx.AsyncClient:
    """A client of a central app built with ``settings``, calling from ``address``."""
    config = CentralSettings(db_url=central.settings.db_url, **settings)
    app = create_app(config, engine=central.engine)
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://central")


async def test_a_declared_oversize_body_is_413_before_any_is_read(central: Central) -> None:
    async with client_for(central, max_body_bytes=64 * 1024) as client:
        body = b"[" + b" " * (64 * 1024) + b"]"
        response = await client.post(f"{API}/actions", content=body, headers=JSON)
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert response.json()["details"] == {"limit_bytes": 64 * 1024}
    assert await central.count("rejected_actions") == 0  # never parsed, nothing stored


async def test_a_streamed_oversize_body_is_cut_off_at_the_limit(central: Central) -> None:
    body = CountingBody(chunks=800)  # 50 MiB if read to the end
    async with client_for(central, max_body_bytes=256 * 1024) as client:
        response = await client.post(f"{API}/actions", content=body, headers=JSON)
    assert response.status_code == 413
    assert body.pulled <= 5  # 256 KiB of 64 KiB chunks, plus the one that went over
    assert await central.count("rejected_actions") == 0


async def test_a_body_within_the_limit_still_applies(seeded: Central) -> None:
    env = seeded.env("lp.move", {"lp": "LP-9", "to_location": "A-01"})
    async with client_for(seeded, max_body_bytes=64 * 1024) as client:
        response = await client.post(f"{API}/actions", json=env)
    assert response.status_code == 200 and response.json()["result"] == "conflict"


MIB = 1024 * 1024


def product_named(size: int) -> bytes:
    """A product body of about ``size`` bytes (its name is far over the schema's length)."""
    return b'{"site": "plant-1", "code": "BIG", "uom": "kg", "name": "' + b"n" * size + b'"}'


async def test_the_body_limit_is_the_setting_on_every_route(central: Central) -> None:
    """IOE_MAX_BODY_BYTES governs JSON routes too: no second, smaller limit behind it."""
    async with client_for(central, max_body_bytes=8 * MIB) as client:
        for size in (2 * MIB, 5 * MIB):
            within = await client.post(f"{API}/products", content=product_named(size), headers=JSON)
            assert within.status_code == 422, (size, within.json())  # read, parsed, refused
        over = await client.post(f"{API}/products", content=product_named(9 * MIB), headers=JSON)
    assert over.status_code == 413
    assert over.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert over.json()["details"] == {"limit_bytes": 8 * MIB}


async def test_over_the_default_limit_every_route_answers_the_same_413(central: Central) -> None:
    """One 413 shape, with details.limit_bytes, whether the body declares its size or not."""
    declared = await central.client.post(
        f"{API}/products", content=product_named(5 * MIB), headers=JSON
    )
    streamed = await central.client.post(f"{API}/products", content=CountingBody(80), headers=JSON)
    actions = await central.client.post(f"{API}/actions", content=CountingBody(80), headers=JSON)
    for response in (declared, streamed, actions):
        assert response.status_code == 413
        assert response.json()["details"] == {"limit_bytes": 4 * MIB}
    assert declared.json() == streamed.json() == actions.json()


async def test_post_actions_holds_the_protocols_message_limit(central: Central) -> None:
    """Under the body limit, POST /actions answers a body over 512 KiB as MQTT ingest does:
    200 with one MESSAGE_TOO_LARGE ack."""
    body = b"[" + b" " * MAX_MESSAGE_BYTES + b"]"
    response = await central.client.post(f"{API}/actions", content=body, headers=JSON)
    assert response.status_code == 200
    assert [(ack["result"], ack["code"]) for ack in response.json()] == [
        ("rejected", "MESSAGE_TOO_LARGE")
    ]


async def test_no_token_on_a_guarded_central_is_401_without_reading_the_body(
    central: Central,
) -> None:
    body = CountingBody(chunks=50)  # 3 MiB, under the default limit
    async with client_for(central, admin_token=ADMIN_TOKEN) as client:
        response = await client.post(f"{API}/products", content=body, headers=JSON)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
    assert body.pulled == 0
    events = await central.rows("SELECT kind, source FROM security_events")
    assert events == [("LOGIN_FAILED", "203.0.113.7")]


async def test_failing_calls_from_one_address_are_429_with_retry_after(central: Central) -> None:
    async with client_for(central, failure_rate=0.5, failure_burst=5) as client:
        answers = [(await client.get(f"{API}/license-plates/NOPE")).status_code for _ in range(8)]
        refused = await client.get(f"{API}/license-plates/NOPE")
        assert answers[:5] == [404] * 5 and answers[5:] == [429] * 3
        assert refused.json()["code"] == "RATE_LIMITED"
        assert int(refused.headers["Retry-After"]) >= 1
        assert (await client.get("/healthz")).status_code == 200  # probes are never limited
    async with client_for(central, address="198.51.100.1") as other:
        assert (await other.get(f"{API}/edges")).status_code == 200  # other callers unaffected


async def test_an_admin_reads_the_drops_from_a_throttled_address(central: Central) -> None:
    """A scanner without a token has spent the address's budget (a NAT or a proxy puts the
    admin behind the same address): an accepted token still gets through, a wrong one not."""
    site_admin = await central.bearer("plant-admin", ["admin"], ["plant-1"])
    async with client_for(
        central, admin_token=ADMIN_TOKEN, failure_rate=0.01, failure_burst=5
    ) as client:
        probes = [(await client.get(f"{API}/edges")).status_code for _ in range(8)]
        assert probes == [401] * 5 + [429] * 3
        for token in ({"Authorization": f"Bearer {ADMIN_TOKEN}"}, site_admin):
            drops = await client.get(f"{API}/security/drops", headers=token)
            assert drops.status_code == 200, drops.json()
            assert drops.json()["http_rate_limited"] >= 3
        wrong = await client.get(f"{API}/security/drops", headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 429 and wrong.json()["code"] == "RATE_LIMITED"
        assert (await client.get("/healthz")).status_code == 200  # probes are never limited
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.get(f"{API}/edges")).status_code == 429  # still throttled


async def test_a_callers_own_failures_are_not_charged_to_its_address(central: Central) -> None:
    """An identified caller's 404s do not lock out the edges posting actions from the same
    address (they carry no token: their envelopes are signed)."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with client_for(
        central, admin_token=ADMIN_TOKEN, failure_rate=0.01, failure_burst=5
    ) as client:
        misses = {(await client.get(f"{API}/license-plates/NOPE", headers=admin)).status_code}
        for _ in range(9):
            misses.add((await client.get(f"{API}/license-plates/NOPE", headers=admin)).status_code)
        assert misses == {404}
        junk = await client.post(f"{API}/actions", content=b"{junk", headers=JSON)
        assert junk.status_code == 200  # answered with a rejected ack, not 429


async def test_refused_tokens_at_a_throttled_address_are_looked_up_within_a_budget(
    central: Central,
) -> None:
    """Guessing tokens from a throttled address costs lookups only up to a second budget of
    the same size; beyond it, only the admin token (compared in memory) gets through."""
    planner = await central.bearer("planner", ["planning"], ["plant-1"])
    async with client_for(
        central, admin_token=ADMIN_TOKEN, failure_rate=0.01, failure_burst=3
    ) as client:
        for _ in range(3):
            await client.get(f"{API}/edges")  # 401 x 3: the address is out of budget
        guesses = [
            (await client.get(f"{API}/edges", headers={"Authorization": f"Bearer g{i}"}))
            for i in range(5)
        ]
        assert {guess.status_code for guess in guesses} == {429}
        lookups = client._transport.app.state.token_lookups  # type: ignore[attr-defined]
        assert not lookups.allowed("203.0.113.7")  # 3 guesses looked up, then no more
        assert (await client.get(f"{API}/work-orders", headers=planner)).status_code == 429
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert (await client.get(f"{API}/edges", headers=admin)).status_code == 200


async def test_junk_envelopes_spend_the_failure_budget(central: Central) -> None:
    async with client_for(central, failure_rate=0.5, failure_burst=3) as client:
        codes = [
            (await client.post(f"{API}/actions", content=b"{junk %d" % i, headers=JSON)).status_code
            for i in range(6)
        ]
    assert codes == [200, 200, 200, 429, 429, 429]
    assert await central.count("rejected_actions") == 3


async def test_identical_refusals_share_one_counted_row(central: Central) -> None:
    for _ in range(20):
        await central.client.post(f"{API}/actions", content=b"{the same junk", headers=JSON)
    await central.client.post(f"{API}/actions", content=b"{other junk", headers=JSON)
    rows = await central.rows("SELECT raw, count FROM rejected_actions ORDER BY count")
    assert rows == [("{other junk", 1), ("{the same junk", 20)]


async def test_refusals_beyond_the_cap_are_counted_not_stored(central: Central) -> None:
    async with client_for(central, rejected_keep_rows=3, failure_burst=100) as client:
        for i in range(10):
            await client.post(f"{API}/actions", content=b"{junk %d" % i, headers=JSON)
        processor = client._transport.app.state.processor  # type: ignore[attr-defined]
        drops = (await client.get(f"{API}/security/drops")).json()
    assert await central.count("rejected_actions") == 3
    assert processor.drops.rejected_not_kept == 7 and drops["rejected_not_kept"] == 7


async def test_old_refusals_are_pruned_and_the_table_is_cut_to_its_cap(central: Central) -> None:
    await central.client.post(f"{API}/actions", content=b"{old junk", headers=JSON)
    for i in range(4):
        await central.client.post(f"{API}/actions", content=b"{new junk %d" % i, headers=JSON)
    long_ago = datetime.now(UTC) - timedelta(days=40)
    async with central.engine.begin() as conn:
        from sqlalchemy import text  # noqa: PLC0415

        await conn.execute(
            text("UPDATE rejected_actions SET last_seen = :t WHERE raw = '{old junk'"),
            {"t": long_ago},
        )
    async with client_for(central, rejected_keep_rows=2, rejected_keep_days=30) as client:
        processor = client._transport.app.state.processor  # type: ignore[attr-defined]
        await processor.rejected.prune(central.engine, at=datetime.now(UTC))
    rows = await central.rows("SELECT raw FROM rejected_actions ORDER BY id")
    assert rows == [("{new junk 2",), ("{new junk 3",)]  # aged out, then the oldest beyond 2
    assert processor.drops.rejected_pruned == 3

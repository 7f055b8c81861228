"""Schemathesis against the edge's local API over a real queue file: no server errors, every
answer matches its documented schema, every status code is documented."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from central.api.app import create_app
from central.db.engine import make_engine
from central.settings import CentralSettings
from edge.agent import ref_follower
from edge.api import create_edge_api
from edge.config import EdgeConfig
from edge.conflicts import ConflictDesk
from edge.events import EventBus
from edge.lookups import RefLookups
from edge.queue import ActionQueue
from edge.ref_store import RefStore
from edge.station_log import StationLog
from edge.stations import StationRunner
from protocol.ref import RefItem
from tests.openapi_fuzz import brief, fuzz_app

# The event stream never ends, so it cannot be checked as request/response.
STREAMS = ("GET /api/v1/events",)
API_KEY = "fuzz-key-0123456789abcdef"
# A record in the cache, so a lookup answers 200 too (``number`` is pinned to its key).
SHIPMENT = RefItem(
    op="upsert",
    key="SH-000001",
    data={"number": "SH-000001", "status": "planned", "planned": ["LP1"], "loaded": []},
)


@pytest.fixture
async def client(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus, migrated_database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    # A real central (in process) behind the conflicts the edge forwards.
    keyed = config.model_copy(
        update={"api_key": API_KEY, "central_url": "http://central", "supervisors": ["SUP-1"]}
    )
    engine = make_engine(migrated_database_url)
    central = create_app(CentralSettings(db_url=migrated_database_url), engine=engine)
    desk = ConflictDesk(keyed, StationLog(queue), transport=httpx.ASGITransport(app=central))
    store = await RefStore.open(keyed.ref_path)
    await store.apply_delta("shipment", 1, [SHIPMENT], synced=True, now=datetime.now(UTC))
    follower = ref_follower(keyed, store, keyed.central_public_key())

    def link() -> dict[str, bool]:
        return {"broker_connected": False, "central_online": False}

    app = create_edge_api(
        config=keyed,
        queue=queue,
        stations=StationRunner(keyed, queue, bus),
        events=bus,
        status=link,
        lookups=RefLookups(store, follower, queue, link),
        conflicts=desk,
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://edge"
        ) as c:
            c.headers["Authorization"] = f"Bearer {API_KEY}"
            yield c
    finally:
        await store.close()
        await engine.dispose()


async def test_edge_api_survives_fuzzing(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    report = await fuzz_app(
        app.openapi(),
        client,
        skip=STREAMS,
        max_examples=40,
        known={"station": "pack-2", "number": SHIPMENT.key},
    )
    assert all(report.calls.values()), report.calls  # every operation was really called
    assert not report.failures, brief(report) + "\n\n" + report.summary()

"""The edge's central_token against a real central that demands tokens (in process, on the
tier's database): refused without one (502 with central's words), another site's token sees
no conflict (404), a supervisor token of the edge's site reads it."""

from collections.abc import AsyncIterator

import httpx
import pytest

from central.db.engine import make_engine
from central.settings import CentralSettings
from edge.api import create_edge_api
from edge.config import EdgeConfig
from edge.conflicts import ConflictDesk
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.station_log import StationLog
from edge.stations import StationRunner
from tests.central.conftest import ADMIN_TOKEN, Central, wired_app


@pytest.fixture
async def central(migrated_database_url: str) -> AsyncIterator[Central]:
    """A central that demands tokens, with edge-1 provisioned and seeded."""
    settings = CentralSettings(db_url=migrated_database_url, admin_token=ADMIN_TOKEN)
    engine = make_engine(migrated_database_url)
    app = wired_app({}, settings, engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central"
    ) as client:
        site = Central(engine, settings, app.state.processor, client)
        await site.provision()
        await site.seed()
        yield site
    await engine.dispose()


async def edge_answer(
    central: Central, config: EdgeConfig, queue: ActionQueue, bus: EventBus, path: str
) -> httpx.Response:
    """GET ``path`` from an edge whose conflict calls go to ``central``'s app."""
    transport = central.client._transport  # the central app, in process
    desk = ConflictDesk(config, StationLog(queue), transport=transport)
    app = create_edge_api(
        config=config,
        queue=queue,
        stations=StationRunner(config, queue, bus),
        events=bus,
        status=lambda: {},
        conflicts=desk,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://edge"
    ) as client:
        return await client.get(path)


async def test_the_edge_reads_conflicts_with_its_central_token(
    central: Central, config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    ack = await central.send_one(central.env("lp.move", {"lp": "LP-GHOST", "to_location": "A-01"}))
    assert (ack.result.value, ack.code) == ("conflict", "LP_NOT_FOUND")
    path = f"/api/v1/conflicts/{ack.conflict_id}"
    base = config.model_copy(update={"central_url": "http://central"})

    without = await edge_answer(central, base, queue, bus, path)
    assert (without.status_code, without.json()["code"]) == (502, "CENTRAL_REFUSED")
    assert without.json()["details"]["status"] == 401
    assert "central_token" in without.json()["message"]

    other_site = (await central.bearer("edge-2-token", ["warehouse"], ["plant-2"]))[
        "Authorization"
    ].removeprefix("Bearer ")
    elsewhere = await edge_answer(
        central, base.model_copy(update={"central_token": other_site}), queue, bus, path
    )
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "CONFLICT_NOT_FOUND")

    own = (await central.bearer("edge-1-token", ["warehouse"], ["plant-1"]))[
        "Authorization"
    ].removeprefix("Bearer ")
    read = await edge_answer(
        central, base.model_copy(update={"central_token": own}), queue, bus, path
    )
    assert read.status_code == 200, read.text
    assert (read.json()["central"]["status"], read.json()["central"]["code"]) == (
        "open",
        "LP_NOT_FOUND",
    )

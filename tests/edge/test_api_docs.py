"""The edge's local API docs open on a plant network without internet."""

import httpx

from edge.api import create_edge_api
from edge.config import EdgeConfig
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner
from tests.runtime.test_api_docs import assert_docs_served_offline


async def test_edge_docs_are_served_from_the_package(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    app = create_edge_api(
        config=config,
        queue=queue,
        stations=StationRunner(config, queue, bus),
        events=bus,
        status=lambda: {"broker_connected": False, "central_online": False},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
        await assert_docs_served_offline(client)

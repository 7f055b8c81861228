"""EdgeClient against a real edge: answers, refusals, the event stream, an edge that is gone."""

import pytest

from harness import free_port
from terminals.kiosk.client import EdgeClient
from terminals.kiosk.errors import EdgeRefused, EdgeUnreachable
from tests.terminals.conftest import KioskSite


async def test_answers_refusals_and_events(site: KioskSite, client: EdgeClient) -> None:
    station = await client.station("pack-2")
    assert station["flow"] == "lp.move"
    with pytest.raises(EdgeRefused) as refused:
        await client.station("no-such-station")
    assert refused.value.status == 404 and refused.value.code == "STATION_NOT_FOUND"
    assert (await client.operator("SUP-1"))["supervisor"] is True
    assert (await client.operator("op-1"))["supervisor"] is False

    events = client.events()
    kind, data = await anext(events)
    assert kind == "connectivity" and "broker_connected" in data
    answer = await client.scan("pack-2", "LOC:A-02")
    assert answer["result"] == "context"
    kinds = []
    async for kind, data in events:
        kinds.append(kind)
        if kind == "feedback":
            assert data["station"] == "pack-2" and "A-02" in data["expect"]
            break
    await events.aclose()
    assert "scan" in kinds


async def test_an_edge_that_is_not_there_is_unreachable() -> None:
    client = EdgeClient(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(EdgeUnreachable):
            await client.queue()
        with pytest.raises(EdgeUnreachable):
            await anext(client.events())
    finally:
        await client.aclose()


async def test_a_wrong_key_is_refused(site: KioskSite) -> None:
    client = EdgeClient(site.edge_url, api_key="not-the-key")
    try:
        with pytest.raises(EdgeRefused) as refused:
            await client.queue()
        assert refused.value.status == 401 and refused.value.code == "API_KEY_INVALID"
    finally:
        await client.aclose()

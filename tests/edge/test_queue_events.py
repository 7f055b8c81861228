"""Action events come from the queue alone: once per state change, whoever caused it."""

import asyncio

import httpx
import pytest

from edge.api import create_edge_api
from edge.config import EdgeConfig
from edge.events import Event, EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner
from protocol import Ack, AckResult
from tests.edge.conftest import EDGE, SECRET, move_body
from tests.edge.test_sync import ScriptedCentral, sync_loop


def _actions(events: list[Event]) -> list[dict]:
    """The data of the ``action`` events, without their edge time."""
    return [event.data for event in events if event.kind == "action"]


async def test_one_enqueue_send_and_ack_give_three_events(
    queue: ActionQueue, bus: EventBus
) -> None:
    async with bus.subscribe() as events:
        action = await queue.enqueue(
            type="lp.move", station="pack-2", operator="op-1", body=move_body()
        )
        await queue.mark_sent([action.id])  # announced: the kiosk shows "sent"
        await queue.mark_sent([action.id])  # a re-send after an ack timeout: not again
        await queue.apply_acks([Ack(id=action.id, seq=1, result=AckResult.APPLIED)])
        await queue.apply_acks([Ack(id=action.id, seq=1, result=AckResult.DUPLICATE)])  # final
        seen = events.drain()
    assert [event.kind for event in seen] == ["action", "action", "action"]
    assert _actions(seen) == [
        {"id": action.id, "seq": 1, "state": "queued", "type": "lp.move", "station": "pack-2"},
        {"id": action.id, "seq": 1, "state": "sent", "type": "lp.move", "station": "pack-2"},
        {"id": action.id, "seq": 1, "state": "applied", "code": None, "message": None},
    ]


async def test_a_scan_and_a_posted_action_are_announced_once_each(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    stations = StationRunner(config, queue, bus)
    app = create_edge_api(
        config=config, queue=queue, stations=stations, events=bus, status=lambda: {}
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        bus.subscribe() as events,
        httpx.AsyncClient(transport=transport, base_url="http://edge") as client,
    ):
        scanned = await client.post("/api/v1/stations/line-1/scans", json={"data": "LP5"})
        posted = await client.post(
            "/api/v1/actions",
            json={"type": "lp.move", "station": "pack-2", "operator": "op-1", "body": move_body()},
        )
        seen = events.drain()
    # The scan's feedback event (flows) follows its scan event.
    assert [event.kind for event in seen] == ["action", "scan", "feedback", "action"]
    assert [(a["id"], a["state"], a["station"]) for a in _actions(seen)] == [
        (scanned.json()["action"]["id"], "queued", "line-1"),
        (posted.json()["id"], "queued", "pack-2"),
    ]


async def test_acks_over_mqtt_are_announced_once(
    own_broker: str, queue: ActionQueue, bus: EventBus
) -> None:
    async with ScriptedCentral(own_broker, EDGE, SECRET) as central, bus.subscribe() as events:
        await central.announce(True)
        loop = sync_loop(queue, EDGE, own_broker, secret=SECRET, events=bus)
        task = asyncio.create_task(loop.run())
        try:
            action = await queue.enqueue(
                type="lp.move", station="pack-2", operator="op-1", body=move_body()
            )
            states = []
            while "applied" not in states:
                event = await asyncio.wait_for(events.get(), 20)
                if event.kind == "action":
                    states.append(event.data["state"])
            await central.announce(False)  # a later event: everything before it has arrived
            while not (
                (event := await asyncio.wait_for(events.get(), 20)).kind == "connectivity"
                and not event.data["central_online"]
            ):
                assert event.kind != "action", event
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert states == ["queued", "sent", "applied"]  # the life a kiosk shows
    assert (await queue.get(action.id)).state == "applied"

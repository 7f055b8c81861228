"""Stations turn raw scans into context changes or queued actions, on a real queue."""

import asyncio

import pytest

from edge.config import EdgeConfig
from edge.errors import QueueFullError, ScanError, UnknownStationError
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner


@pytest.fixture
def runner(config: EdgeConfig, queue: ActionQueue, bus: EventBus) -> StationRunner:
    return StationRunner(config, queue, bus)


async def test_scans_build_context_then_queue_an_action(
    runner: StationRunner, queue: ActionQueue
) -> None:
    # An LP first waits for its location (before flows, an LP without a location was refused).
    waiting = await runner.handle_scan("pack-2", "LP1\r\n")
    assert (waiting.result, waiting.message, waiting.expect) == (
        "context",
        "LP LP1",
        "scan the location to move LP1 to",
    )
    moved = await runner.handle_scan("pack-2", "]C0LOC:A-01\r\n")
    assert (moved.result, moved.message) == ("queued", "saved: move LP1 to A-01")
    context = await runner.handle_scan("pack-2", "]C0LOC:A-02\r\n")
    assert (context.result, context.message, context.state.location) == (
        "context",
        "putting away to A-02",
        "A-02",
    )
    queued = await runner.handle_scan("pack-2", "]C100106141411234567897\r\n")
    assert queued.result == "queued" and queued.action is not None
    assert queued.message == "saved: move 106141411234567897 to A-02"
    envelopes = await queue.pending_batch(5)
    assert (envelopes[1]["id"], envelopes[1]["station"], envelopes[1]["operator"]) == (
        queued.action.id,
        "pack-2",
        "op-1",
    )
    assert [e["body"] for e in envelopes] == [
        {"lp": "LP1", "to_location": "A-01"},
        {"lp": "106141411234567897", "to_location": "A-02"},
    ]


async def test_station_context_starts_from_config_and_is_per_station(runner: StationRunner) -> None:
    outcome = await runner.handle_scan("line-1", "LP7")
    assert outcome.result == "queued" and outcome.action_type == "lp.consume"
    await runner.handle_scan("line-1", "OP:op-9")
    assert runner.state("line-1").operator == "op-9"
    assert runner.state("pack-2").operator == "op-1"


async def test_scans_at_one_station_keep_their_order(
    runner: StationRunner, queue: ActionQueue
) -> None:
    raws = ["LOC:A-01", "LP1", "LOC:A-02", "LP2", "LP3"]
    outcomes = await asyncio.gather(*(runner.handle_scan("pack-2", raw) for raw in raws))
    assert [o.result for o in outcomes] == ["context", "queued", "context", "queued", "queued"]
    bodies = [e["body"]["to_location"] for e in await queue.pending_batch(10)]
    assert bodies == ["A-01", "A-02", "A-02"]


async def test_unknown_station(runner: StationRunner) -> None:
    with pytest.raises(UnknownStationError, match="no station 'dock-9'.*pack-2, line-1"):
        await runner.handle_scan("dock-9", "LP1")


async def test_bad_scan_raises_and_is_announced(runner: StationRunner, bus: EventBus) -> None:
    async with bus.subscribe() as events:
        with pytest.raises(ScanError, match="bad check digit"):
            await runner.handle_scan("pack-2", "106141411234567890\r\n")
        event = await events.get()
    assert (event.kind, event.data["code"], event.data["station"]) == (
        "scan",
        "GS1_INVALID",
        "pack-2",
    )


async def test_scan_and_action_events(runner: StationRunner, bus: EventBus) -> None:
    async with bus.subscribe() as events:
        outcome = await runner.handle_scan("line-1", "LP5")
        action, scan = await events.get(), await events.get()
    assert (action.kind, action.data["id"], action.data["state"]) == (
        "action",
        outcome.action.id,
        "queued",
    )
    assert (scan.kind, scan.data["result"], scan.data["value"]) == ("scan", "queued", "LP5")


async def test_full_disk_refuses_the_scan_visibly(
    runner: StationRunner, queue: ActionQueue, bus: EventBus
) -> None:
    await runner.handle_scan("line-1", "LP1")
    await queue.set_size_limit(1)
    async with bus.subscribe() as events:
        with pytest.raises(QueueFullError):
            for i in range(5000):
                await runner.handle_scan("line-1", f"LP-{i}")
        kinds = [event.kind for event in events.drain()]
    assert kinds[-1] == "warning"
    assert (await queue.stats()).depth >= 1

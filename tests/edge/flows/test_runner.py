"""StationRunner over a real queue file: decoding, flows, the queue, and feedback events."""

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from edge.barcodes.decode import BarcodeDecoder
from edge.barcodes.rules import DEFAULT_RULES, BarcodeRule
from edge.config import EdgeConfig, StationConfig
from edge.errors import QueueFullError, ScanError
from edge.events import Event, EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner


class Clock:
    """A clock the test moves by hand: no sleeping through a 120 s timeout."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stations_config(config: EdgeConfig) -> EdgeConfig:
    """A move station, a consuming line, an output station, a sign-in dock, a counter."""
    return config.model_copy(
        update={
            "stations": [
                StationConfig(name="pack-2", operator="op-1", action="lp.move"),
                StationConfig(
                    name="line-1", operator="op-2", action="lp.consume", work_order="WO-1001"
                ),
                StationConfig(
                    name="out-1",
                    operator="op-3",
                    action="wo.output",
                    work_order="WO-1001",
                    location="FG-1",
                    flows=["wo.output"],
                ),
                StationConfig(
                    name="dock-1",
                    require_sign_in=True,
                    action="lp.receive",
                    location="DOCK-1",
                    idle_timeout_seconds=60,
                ),
                StationConfig(name="count-1", operator="op-4", action="count.record"),
            ]
        }
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runner(
    stations_config: EdgeConfig, queue: ActionQueue, bus: EventBus, clock: Clock
) -> StationRunner:
    return StationRunner(stations_config, queue, bus, clock=clock)


def feedbacks(events: list[Event]) -> list[dict[str, Any]]:
    return [event.data for event in events if event.kind == "feedback"]


class CommitProbe:
    """An event sink that, when feedback names an action, reads the queue file right then."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: list[tuple[str, bool]] = []

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "feedback" and data["action_id"]:
            with sqlite3.connect(self.path) as db:  # a separate reader sees commits only
                row = db.execute("SELECT 1 FROM actions WHERE id = ?", (data["action_id"],))
                self.seen.append((data["action_id"], row.fetchone() is not None))


async def test_feedback_is_published_only_after_the_action_is_committed(
    stations_config: EdgeConfig, queue: ActionQueue
) -> None:
    probe = CommitProbe(queue.path)
    runner = StationRunner(stations_config, queue, probe)
    await runner.handle_scan("pack-2", "LOC:A-01")
    outcome = await runner.handle_scan("pack-2", "LP1")
    assert outcome.action is not None
    assert probe.seen == [(outcome.action.id, True)]
    probe.publish("feedback", {"action_id": "0193a5c2-7a1e-7b3c-8d4e-5f6a7b8c9d0e"})
    assert probe.seen[-1][1] is False  # the probe does see an action that is not on disk


async def test_every_scan_gets_feedback_with_what_comes_next(
    runner: StationRunner, bus: EventBus
) -> None:
    async with bus.subscribe() as events:
        await runner.handle_scan("pack-2", "LP1")
        await runner.handle_scan("pack-2", "QTY:3")
        queued = await runner.handle_scan("pack-2", "LOC:A-02")
        got = feedbacks(events.drain())
    assert [(f["level"], f["sound"]) for f in got] == [
        ("info", "prompt"),
        ("error", "error"),
        ("ok", "ok"),
    ]
    assert got[0]["expect"] == "scan the location to move LP1 to"
    assert got[1]["code"] == "NEED_LOCATION"
    assert queued.action is not None
    assert (got[2]["action_id"], got[2]["action_type"], got[2]["message"]) == (
        queued.action.id,
        "lp.move",
        "saved: move LP1 to A-02",
    )
    assert got[2]["expect"] == "scan an LP to move, or the location to put LPs away to"


async def test_an_unreadable_scan_gets_error_feedback_with_the_decoder_code(
    runner: StationRunner, bus: EventBus, queue: ActionQueue
) -> None:
    async with bus.subscribe() as events:
        with pytest.raises(ScanError):
            await runner.handle_scan("pack-2", "106141411234567890")
        [feedback] = feedbacks(events.drain())
    assert (feedback["level"], feedback["code"]) == ("error", "GS1_INVALID")
    assert "bad check digit" in feedback["message"] and feedback["action_id"] is None
    assert (await queue.stats()).depth == 0


async def test_a_full_disk_refuses_the_scan_with_error_feedback_and_keeps_the_sequence(
    runner: StationRunner, queue: ActionQueue, bus: EventBus
) -> None:
    await runner.handle_scan("pack-2", "LOC:A-01")
    await queue.set_size_limit(1)
    saved = 0
    async with bus.subscribe() as events:
        with pytest.raises(QueueFullError):
            for i in range(5000):
                await runner.handle_scan("pack-2", f"LP-{i}")
                saved += 1
        last = feedbacks(events.drain())[-1]
    assert (last["level"], last["code"], last["action_id"]) == ("error", "QUEUE_FULL", None)
    assert "disk is full" in last["message"]
    assert (await queue.stats()).depth == saved  # the refused scan left nothing behind
    assert runner.state("pack-2").collected == {"location": "A-01"}  # scan it again later


async def test_an_absurd_quantity_is_refused_and_the_output_starts_again(
    runner: StationRunner, queue: ActionQueue, bus: EventBus
) -> None:
    await runner.handle_scan("out-1", "QTY:999999999")
    async with bus.subscribe() as events:
        refused = await runner.handle_scan("out-1", "LP-OUT-1")
        [feedback] = feedbacks(events.drain())
    assert (refused.result, refused.code) == ("refused", "QTY_OVER_LIMIT")
    assert refused.message.endswith("dropped the unfinished output (quantity 999999999)")
    assert (feedback["level"], feedback["code"]) == ("error", "QTY_OVER_LIMIT")
    assert (await queue.stats()).depth == 0
    assert refused.state.step == "qty" and refused.state.work_order == "WO-1001"


async def test_a_sign_in_station_queues_for_the_signed_in_operator(
    runner: StationRunner, queue: ActionQueue
) -> None:
    refused = await runner.handle_scan("dock-1", "ITEM:FLOUR")
    assert (refused.result, refused.code) == ("refused", "NEED_SIGN_IN")
    for raw in ("OP:op-7", "ITEM:FLOUR", "100", "LOT:L-1"):
        await runner.handle_scan("dock-1", raw)
    [envelope] = await queue.pending_batch(5)
    assert (envelope["type"], envelope["operator"]) == ("lp.receive", "op-7")
    assert envelope["body"] == {"item": "FLOUR", "qty": "100", "lot": "L-1", "location": "DOCK-1"}


async def test_the_decoder_is_told_what_the_step_expects(
    runner: StationRunner, queue: ActionQueue
) -> None:
    # A bare number is an LP number unless the count waits for a quantity.
    for raw in ("CNT:C-1", "LOC:A-01", "12", "7"):
        await runner.handle_scan("count-1", raw)
    [envelope] = await queue.pending_batch(5)
    assert envelope["body"] == {
        "session": "C-1",
        "location": "A-01",
        "lps": [{"lp": "12", "qty": "7"}],
    }


async def test_the_runner_uses_the_decoder_it_is_given(
    stations_config: EdgeConfig, queue: ActionQueue
) -> None:
    bins = BarcodeRule(name="bins", kind="location", pattern=r"^(?P<value>BIN-\d+)$")
    decoder = BarcodeDecoder((bins, *DEFAULT_RULES))
    runner = StationRunner(stations_config, queue, decoder=decoder)
    await runner.handle_scan("pack-2", "LP1")
    outcome = await runner.handle_scan("pack-2", "BIN-42")
    assert outcome.result == "queued"
    assert (await queue.pending_batch(1))[0]["body"] == {"lp": "LP1", "to_location": "BIN-42"}


async def test_an_idle_sequence_is_dropped_on_the_next_scan(
    runner: StationRunner, clock: Clock, queue: ActionQueue
) -> None:
    await runner.handle_scan("pack-2", "LP1")
    clock.now += 121
    outcome = await runner.handle_scan("pack-2", "LOC:A-01")
    assert outcome.result == "context"
    assert outcome.message == (
        "dropped the unfinished move (LP LP1): no scan for 120 s; putting away to A-01"
    )
    assert (await queue.stats()).depth == 0


async def test_expire_idle_drops_and_announces_per_station_timeouts(
    runner: StationRunner, clock: Clock, bus: EventBus
) -> None:
    await runner.handle_scan("pack-2", "LP1")
    for raw in ("OP:op-7", "ITEM:FLOUR"):
        await runner.handle_scan("dock-1", raw)
    async with bus.subscribe() as events:
        assert runner.expire_idle(clock.now + 59) == []
        assert runner.expire_idle(clock.now + 60) == ["dock-1"]
        assert runner.expire_idle(clock.now + 120) == ["pack-2"]
        got = feedbacks(events.drain())
    assert [(f["station"], f["code"], f["level"]) for f in got] == [
        ("dock-1", "IDLE_TIMEOUT", "info"),
        ("pack-2", "IDLE_TIMEOUT", "info"),
    ]
    assert got[0]["message"] == "dropped the unfinished receive (item FLOUR): no scan for 60 s"
    assert got[0]["operator"] == "op-7"  # the sequence goes, the operator stays signed in
    assert runner.state("dock-1").collected == {"location": "DOCK-1"}


async def test_the_sweeper_loop_announces_a_drop_without_any_scan(
    runner: StationRunner, clock: Clock, bus: EventBus
) -> None:
    await runner.handle_scan("pack-2", "LP1")
    async with bus.subscribe() as events:
        sweeper = asyncio.create_task(runner.sweep_idle(every=0.01))
        try:
            clock.now += 500
            event = await asyncio.wait_for(events.get(), 5)
        finally:
            sweeper.cancel()
    assert (event.kind, event.data["station"], event.data["code"]) == (
        "feedback",
        "pack-2",
        "IDLE_TIMEOUT",
    )


async def test_bare_text_stays_an_lp_where_an_lp_is_taken_with_quantities_or_lots(
    runner: StationRunner, queue: ActionQueue
) -> None:
    # A numeric LP label at a consume step (which also takes QTY:) is an LP, not a quantity;
    # an LP at a hold's first step (which also takes LOT:) is an LP, not a lot.
    await runner.handle_scan("line-1", "4711")
    for raw in ("ACT:qc.hold", "LP-9", "damaged"):
        await runner.handle_scan("pack-2", raw)
    consume, hold = await queue.pending_batch(5)
    assert consume["body"] == {"lp": "4711", "work_order": "WO-1001"}
    assert hold["body"] == {"lp": "LP-9", "reason": "DAMAGED"}

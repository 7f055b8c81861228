"""GET /stations/{station}/progress: each job's totals from a real reference cache with this
edge's unacked actions (queued by real scans through the stations) on top, and the recent
actions; GET /operators; the ``sent`` action event."""

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from edge.agent import ref_follower
from edge.api import create_edge_api
from edge.config import EdgeConfig, StationConfig, load_config
from edge.events import EventBus
from edge.lookups import RefLookups
from edge.queue import ActionQueue
from edge.ref_store import RefStore
from edge.stations import StationRunner
from protocol import Ack, AckResult
from protocol.ref import RefItem
from tests.edge.ref_helpers import lp

STATIONS = [
    StationConfig(name="line-1", operator="op-2", action="lp.consume"),
    StationConfig(name="out-1", operator="op-2", action="wo.output"),
    StationConfig(name="load-1", operator="op-9", action="ship.load"),
    StationConfig(name="count-1", operator="op-4", action="count.record"),
    StationConfig(name="pick-1", operator="op-3", action="pick.confirm", task_locations=["A-*"]),
    StationConfig(name="pack-2", operator="op-1", action="lp.move"),
]
LINK = {"broker_connected": True, "central_online": True}


@pytest.fixture
async def store(config: EdgeConfig) -> AsyncIterator[RefStore]:
    cache = await RefStore.open(config.ref_path)
    yield cache
    await cache.close()


@pytest.fixture
async def client(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus, store: RefStore
) -> AsyncIterator[httpx.AsyncClient]:
    config = config.model_copy(update={"stations": STATIONS, "supervisors": ["SUP-1"]})
    follower = ref_follower(config, store, config.central_public_key())
    await follower.load()
    app = create_edge_api(
        config=config,
        queue=queue,
        stations=StationRunner(config, queue, bus),
        events=bus,
        status=lambda: LINK,
        lookups=RefLookups(store, follower, queue, lambda: LINK),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://edge"
    ) as c:
        yield c


async def cache(store: RefStore, kind: str, *records: tuple[str, dict[str, Any]]) -> None:
    """Records as central's deltas put them in the cache."""
    chain = (await store.chains()).get(kind)
    last = chain.last_id if chain else 0
    items = [RefItem(op="upsert", key=key, data=data) for key, data in records]
    await store.apply_delta(kind, last + 1, items, synced=True, now=datetime.now(UTC))


async def scan(client: httpx.AsyncClient, station: str, *raw: str) -> list[dict[str, Any]]:
    answers = []
    for data in raw:
        response = await client.post(f"/api/v1/stations/{station}/scans", json={"data": data})
        assert response.status_code == 200, response.text
        assert response.json()["result"] != "refused", response.json()
        answers.append(response.json())
    return answers


async def progress(client: httpx.AsyncClient, station: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/stations/{station}/progress")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def ack(queue: ActionQueue, action_id: str, seq: int) -> None:
    await queue.apply_acks([Ack(id=action_id, seq=seq, result=AckResult.APPLIED)])


async def test_consume_counts_central_figures_and_this_edges_unacked_consumes(
    client: httpx.AsyncClient, store: RefStore, queue: ActionQueue
) -> None:
    assert (await progress(client, "line-1"))["job"] is None  # no work order yet
    material = {"product": "RAW-1", "qty": "100", "uom": "kg", "qty_consumed": "40"}
    bare = {"product": "PACK-1", "qty": "10", "uom": "ea"}  # central did not say: unknown
    wo = {"number": "WO-7", "product": "FG-1", "qty_planned": "50", "uom": "ea"}
    await cache(
        store, "work_order", ("WO-7", wo | {"status": "in_progress", "materials": [material, bare]})
    )
    await cache(
        store,
        "lp",
        ("LP-1", lp("LP-1", product="RAW-1", qty="25")),
        ("LP-2", lp("LP-2", product="RAW-1", qty="30")),
        ("LP-3", lp("LP-3", product="PACK-1", qty="4")),
    )
    # LP-4 was received at this edge and central has not acked it: its product is known here.
    await queue.enqueue(
        type="lp.receive",
        station="line-1",
        operator="op-2",
        body={"item": "RAW-1", "qty": "7", "uom": "kg", "location": "A-01", "lp": "LP-4"},
    )
    answers = await scan(
        client, "line-1", "WO:WO-7", "LP-1", "QTY:5", "LP-2", "LP-3", "LP-4", "LP-99"
    )
    first = answers[1]["action"]
    await ack(queue, first["id"], first["seq"])  # central has it: in qty_consumed, not pending

    got = await progress(client, "line-1")
    # The follower was loaded before these records were written: it has never seen a chain.
    assert (got["flow"], got["stale"], got["stale_reasons"]) == (
        "lp.consume",
        True,
        ["never_synced"],
    )
    assert got["job"] == {
        "kind": "consume",
        "work_order": "WO-7",
        "product": "FG-1",
        "status": "in_progress",
        "lines": [
            {
                "product": "RAW-1",
                "uom": "kg",
                "required": "100",
                "consumed": "40",
                "pending": "12",  # 5 of LP-2 and LP-4 (7, received here)
                "remaining": "48",
            },
            {
                "product": "PACK-1",
                "uom": "ea",
                "required": "10",
                "consumed": None,
                "pending": "4",
                "remaining": None,
            },
        ],
        "pending_unknown": 1,  # LP-99: neither central nor this edge knows it
    }
    assert [r["summary"] for r in got["recent"]] == [
        "consume LP-99 into WO-7",
        "consume LP-4 into WO-7",
        "consume LP-3 into WO-7",
        "consume 5 of LP-2 into WO-7",
        "consume LP-1 into WO-7",
        "receive 7 kg RAW-1 at A-01 as LP-4",
    ]
    assert [r["state"] for r in got["recent"]][3:] == ["queued", "applied", "queued"]


async def test_output_load_count_pick_and_done_today(
    client: httpx.AsyncClient, store: RefStore, queue: ActionQueue
) -> None:
    await cache(
        store,
        "work_order",
        (
            "WO-8",
            {
                "number": "WO-8",
                "product": "FG-1",
                "qty_planned": "50",
                "qty_produced": "20",
                "uom": "ea",
                "status": "in_progress",
                "materials": [],
            },
        ),
    )
    await scan(client, "out-1", "WO:WO-8", "QTY:12", "LOC:A-01", "CMD:done")
    out = (await progress(client, "out-1"))["job"]
    assert out == {
        "kind": "output",
        "work_order": "WO-8",
        "product": "FG-1",
        "status": "in_progress",
        "uom": "ea",
        "planned": "50",
        "produced": "20",
        "pending": "12",
        "remaining": "18",
    }

    # A shipment central has not described yet: only what this edge loaded is known.
    await scan(client, "load-1", "SHIP:SH-1", "LP-10", "LP-11")
    unknown = (await progress(client, "load-1"))["job"]
    assert (unknown["status"], unknown["planned"], unknown["loaded"]) == (None, None, None)
    assert (unknown["pending"], unknown["pending_lps"]) == (2, ["LP-10", "LP-11"])
    assert (await progress(client, "load-1"))["stale_reasons"] == ["never_synced"]
    await cache(
        store,
        "shipment",
        (
            "SH-1",
            {
                "number": "SH-1",
                "status": "loading",
                "planned": ["LP-9", "LP-10", "LP-11", "LP-12"],
                "loaded": ["LP-9"],
                "dispatched_at": None,
            },
        ),
    )
    load = (await progress(client, "load-1"))["job"]
    assert load == {
        "kind": "load",
        "shipment": "SH-1",
        "status": "loading",
        "planned": 4,
        "loaded": 1,
        "pending": 2,
        "missing": ["LP-12"],
        "loaded_lps": ["LP-9"],
        "pending_lps": ["LP-10", "LP-11"],
    }

    await cache(store, "lp", ("LP-20", lp("LP-20", qty="10")), ("LP-21", lp("LP-21", qty="5")))
    await scan(
        client,
        "count-1",
        "CNT:C-1",
        "LOC:A-01",
        "LP-20",
        "QTY:12",
        "LP-21",
        "QTY:5",
        "LP-22",
        "QTY:3",
        "LP-20",
        "QTY:11",
    )
    count = (await progress(client, "count-1"))["job"]
    assert (count["kind"], count["session"], count["location"], count["counted"]) == (
        "count",
        "C-1",
        "A-01",
        3,
    )
    assert {(x["lp"], x["counted"], x["expected"], x["variance"]) for x in count["lines"]} == {
        ("LP-20", "11", "10", "1"),
        ("LP-21", "5", "5", "0"),
        ("LP-22", "3", None, None),
    }
    assert count["variance"] == "1"

    task = {
        "wave": "W1",
        "order": "SO-1",
        "product": "FG-1",
        "lp": "LP-30",
        "to_location": "D",
        "qty": "2",
        "qty_picked": "0",
        "status": "open",
        "assignee": None,
    }
    await cache(
        store,
        "task",
        *[
            (n, task | {"number": n, "sequence": i, "location": loc})
            for i, (n, loc) in enumerate([("PT-1", "A-01"), ("PT-2", "A-02"), ("PT-3", "B-01")])
        ],
    )
    await scan(client, "pick-1", "TASK:PT-1", "LOC:A-01", "LP-30", "QTY:2")
    pick = (await progress(client, "pick-1"))["job"]
    assert [(t["number"], t["pending"]) for t in pick["tasks"]] == [("PT-1", True), ("PT-2", False)]
    assert (pick["task"], pick["next"]) == (None, "PT-2")  # the pick is done: no task now
    await scan(client, "pick-1", "TASK:PT-2")
    assert (await progress(client, "pick-1"))["job"]["task"]["number"] == "PT-2"

    await scan(client, "pack-2", "LP-40", "LOC:A-02", "LP-41", "LOC:A-01")
    moved = await progress(client, "pack-2")
    assert moved["job"] == {"kind": "move", "done": 2}
    assert moved["recent"][0]["summary"] == "move LP-41 to A-01"


async def test_an_unknown_station_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/stations/nowhere/progress")
    assert (response.status_code, response.json()["code"]) == (404, "STATION_NOT_FOUND")


async def test_progress_is_cheap_with_thousands_of_queued_actions(
    client: httpx.AsyncClient, store: RefStore, queue: ActionQueue
) -> None:
    await cache(
        store,
        "work_order",
        (
            "WO-9",
            {
                "number": "WO-9",
                "product": "FG-1",
                "qty_planned": "5",
                "uom": "ea",
                "status": "in_progress",
                "materials": [],
            },
        ),
    )
    for start in range(0, 3000, 500):
        await _many(queue, start)
    await scan(client, "out-1", "WO:WO-9")
    await progress(client, "out-1")  # the pending index reads the backlog once
    began = time.perf_counter()
    for _ in range(20):
        await progress(client, "out-1")
        await progress(client, "pack-2")
    per_call = (time.perf_counter() - began) / 40
    assert per_call < 0.02, f"{per_call * 1000:.1f} ms per progress"


async def _many(queue: ActionQueue, start: int) -> None:
    import asyncio

    await asyncio.gather(
        *(
            queue.enqueue(
                type="lp.move",
                station="pack-2",
                operator="op-1",
                body={"lp": f"LP{i:05d}", "to_location": "A-01"},
            )
            for i in range(start, start + 500)
        )
    )


async def test_operators_says_who_is_a_supervisor(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/operators/SUP-1")).json() == {
        "id": "SUP-1",
        "supervisor": True,
    }
    assert (await client.get("/api/v1/operators/op-1")).json() == {
        "id": "op-1",
        "supervisor": False,
    }


async def test_sent_is_announced_once_per_action(queue: ActionQueue, bus: EventBus) -> None:
    first = await queue.enqueue(
        type="lp.move", station="pack-2", operator="op-1", body={"lp": "LP1", "to_location": "A-01"}
    )
    async with bus.subscribe() as events:
        await queue.mark_sent([first.id])
        await queue.mark_sent([first.id])  # a re-send after an ack timeout: not news
        sent = [e.data for e in events.drain()]
    assert sent == [
        {"id": first.id, "seq": first.seq, "state": "sent", "station": "pack-2", "type": "lp.move"}
    ]


def test_supervisors_and_central_token_from_the_environment(
    config: EdgeConfig, tmp_path: Any
) -> None:
    from edge.config import write_config

    path = tmp_path / "edge.toml"
    write_config(config, path)
    env = {"IOE_EDGE_SUPERVISORS": "SUP-1, SUP-2", "IOE_EDGE_CENTRAL_TOKEN": "tok-1"}
    loaded = load_config(path, env=env)
    assert (loaded.supervisors, loaded.central_token) == (["SUP-1", "SUP-2"], "tok-1")
    assert "tok-1" not in repr(loaded)


async def test_a_dispatched_or_cancelled_shipment_has_ended_in_the_cache(store: RefStore) -> None:
    await cache(
        store,
        "shipment",
        ("SH-1", {"number": "SH-1", "status": "loading", "planned": [], "loaded": []}),
        ("SH-2", {"number": "SH-2", "status": "dispatched", "planned": [], "loaded": []}),
        ("SH-3", {"number": "SH-3", "status": "cancelled", "planned": [], "loaded": []}),
    )
    assert [s["number"] for s in await store.open_records("shipment")] == ["SH-1"]


async def test_without_a_reference_cache_progress_answers_from_the_queue(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    config = config.model_copy(update={"stations": STATIONS})
    app = create_edge_api(
        config=config,
        queue=queue,
        stations=StationRunner(config, queue, bus),
        events=bus,
        status=lambda: LINK,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://edge"
    ) as bare:
        await scan(bare, "out-1", "WO:WO-8", "QTY:12", "LOC:A-01", "CMD:done")
        got = await progress(bare, "out-1")
    assert (got["stale"], got["stale_reasons"]) == (True, ["no_reference_cache"])
    job = got["job"]
    assert (job["planned"], job["produced"], job["pending"], job["remaining"]) == (
        None,
        None,
        "12",
        None,
    )


async def test_conflict_calls_without_central_url_say_so(client: httpx.AsyncClient) -> None:
    read = await client.get("/api/v1/conflicts/7")
    assert (read.status_code, read.json()["code"]) == (503, "CENTRAL_NOT_CONFIGURED")
    unknown = await client.get("/api/v1/conflicts", params={"station": "nowhere"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "STATION_NOT_FOUND")
    assert (await client.get("/api/v1/conflicts")).json() == {"station": None, "conflicts": []}


async def test_done_today_counts_only_what_central_did_not_refuse(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    answers = await scan(
        client, "pack-2", "LOC:A-02", "LP-50", "LP-51", "LP-52", "LP-53", "LP-54", "LP-55"
    )
    saved = [a["action"] for a in answers if a.get("action")]
    assert len(saved) == 6
    results = [
        AckResult.APPLIED,
        AckResult.DUPLICATE,
        AckResult.CONFLICT,
        AckResult.REJECTED,
    ]
    await queue.apply_acks(
        [
            Ack(
                id=a["id"],
                seq=a["seq"],
                result=r,
                code="X" if r in ("conflict", "rejected") else None,
            )
            for a, r in zip(saved, results, strict=False)
        ]
    )
    await queue.mark_sent([saved[4]["id"]])  # the fifth on its way, the sixth still queued
    # applied, duplicate, sent and queued count; the conflict and the rejection do not.
    assert (await progress(client, "pack-2"))["job"] == {"kind": "move", "done": 4}

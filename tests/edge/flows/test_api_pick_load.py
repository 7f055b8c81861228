"""Pick and load stations through the edge's local API: the exact actions queued, refusals,
restarts, cancel, sign-in, the listing and the feedback events."""

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from edge.api import create_edge_api
from edge.config import EdgeConfig, StationConfig
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner
from tests.edge.barcodes.labels import GS, with_check

SSCC_PALLET = with_check("03761234500000001")
SSCC_CARTON = with_check("03761234500000002")
SSCC_NEW = with_check("03761234500000003")


@pytest.fixture
async def client(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> AsyncIterator[httpx.AsyncClient]:
    config = config.model_copy(
        update={
            "max_qty": Decimal(500),
            "stations": [
                StationConfig(
                    name="pick-1",
                    require_sign_in=True,
                    action="pick.confirm",
                    flows=["pick.confirm", "ship.load"],
                ),
                StationConfig(name="load-1", operator="op-9", action="ship.load"),
            ],
        }
    )
    app = create_edge_api(
        config=config,
        queue=queue,
        stations=StationRunner(config, queue, bus),
        events=bus,
        status=lambda: {"broker_connected": False, "central_online": False},
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://edge"
    ) as c:
        yield c


async def scans(client: httpx.AsyncClient, station: str, *raw: str) -> list[dict[str, Any]]:
    """Post each scan to the station; every answer, in order."""
    answers = []
    for data in raw:
        response = await client.post(f"/api/v1/stations/{station}/scans", json={"data": data})
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


async def queued(queue: ActionQueue) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every pending action as (type, station, operator, body)."""
    return [
        (e["type"], e["station"], e["operator"], e["body"]) for e in await queue.pending_batch(50)
    ]


async def test_a_pick_station_queues_pick_confirms_exactly_as_scanned(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    answers = await scans(
        client,
        "pick-1",
        "OP:op-3",
        "PT-000001",  # a bare task number: the task step expects one
        "LOC:A-01",
        "LP-77",
        "4",  # a typed quantity
        "TASK:PT-000002",
        "LOC:A-02",
        f"00{SSCC_PALLET}37{'24'}",  # the LP's label, with its count
        "CMD:done",  # take the 24 the label shows
        "PT-000003",
        "LOC:B-01",
        SSCC_CARTON,
        SSCC_NEW,  # the label of the picked part
        "QTY:2.5",
    )
    assert [a["result"] for a in answers] == ["context"] * 4 + ["queued"] + ["context"] * 3 + [
        "queued"
    ] + ["context"] * 4 + ["queued"]
    assert [a["state"]["step"] for a in answers[:5]] == ["task", "location", "lp", "qty", "task"]
    assert answers[4]["message"] == "saved: pick 4 of LP-77 at A-01 for PT-000001"
    assert answers[4]["expect"] == "scan the pick task (PT-...)"
    assert answers[7]["expect"] == (
        f"scan or type the quantity picked from {SSCC_PALLET} (a new LP label first labels the "
        "picked part), or CMD:done for the 24 its label shows"
    )
    assert answers[12]["state"]["collected"] == {
        "task": "PT-000003",
        "location": "B-01",
        "lp": SSCC_CARTON,
        "new_lp": SSCC_NEW,
    }
    assert await queued(queue) == [
        (
            "pick.confirm",
            "pick-1",
            "op-3",
            {"task": "PT-000001", "lp": "LP-77", "qty": "4", "location": "A-01"},
        ),
        (
            "pick.confirm",
            "pick-1",
            "op-3",
            {"task": "PT-000002", "lp": SSCC_PALLET, "qty": "24", "location": "A-02"},
        ),
        (
            "pick.confirm",
            "pick-1",
            "op-3",
            {
                "task": "PT-000003",
                "lp": SSCC_CARTON,
                "qty": "2.5",
                "location": "B-01",
                "new_lp": SSCC_NEW,
            },
        ),
    ]


async def test_wrong_scans_at_a_pick_station_are_refused_with_what_it_expects(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    [unsigned] = await scans(client, "pick-1", "PT-000001")
    assert (unsigned["result"], unsigned["code"]) == ("refused", "NEED_SIGN_IN")
    answers = await scans(client, "pick-1", "OP:op-3", "LP-77", "PT-000001", "LP-77")
    assert [(a["result"], a["code"]) for a in answers[1:]] == [
        ("refused", "NEED_TASK"),
        ("context", None),
        ("refused", "NEED_LOCATION"),
    ]
    assert answers[1]["message"] == "LP LP-77 does not fit here: scan the pick task (PT-...)"
    assert answers[3]["expect"] == "scan the location you pick PT-000001 from (LOC:)"
    # A bare number at the LP step is an LP number; at the quantity step, zero does nothing.
    answers = await scans(client, "pick-1", "LOC:A-01", "1234", "0", "CMD:done")
    assert answers[1]["state"]["collected"]["lp"] == "1234"
    assert [(a["result"], a["code"]) for a in answers[2:]] == [
        ("refused", "QTY_ZERO"),
        ("refused", "NEED_QTY"),
    ]
    # Above the edge's maximum: nothing is saved and the pick starts again.
    [over] = await scans(client, "pick-1", "501")
    assert (over["result"], over["code"], over["state"]["step"]) == (
        "refused",
        "QTY_OVER_LIMIT",
        "task",
    )
    assert await queued(queue) == []


async def test_a_new_task_restarts_and_cancel_or_sign_out_drop_the_unfinished_pick(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    answers = await scans(client, "pick-1", "OP:op-3", "PT-000001", "LOC:A-01", "LP-1", "PT-000002")
    assert answers[-1]["message"] == (
        "pick task PT-000002; dropped the unfinished pick (task PT-000001, location A-01, LP LP-1)"
    )
    assert answers[-1]["state"]["collected"] == {"task": "PT-000002"}
    [cancel] = await scans(client, "pick-1", "CMD:cancel")
    assert cancel["message"] == "dropped the unfinished pick (task PT-000002)"
    assert cancel["state"]["step"] == "task"
    answers = await scans(client, "pick-1", "PT-000004", "LOC:A-01", "OP:op-3")
    assert answers[-1]["message"] == (
        "signed out: op-3; dropped the unfinished pick (task PT-000004, location A-01)"
    )
    assert answers[-1]["state"]["operator"] is None
    [switched] = await scans(client, "pick-1", "OP:op-4")
    assert switched["state"]["collected"] == {}
    assert await queued(queue) == []


async def test_a_load_station_loads_each_lp_onto_the_shipment_scanned(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    answers = await scans(
        client,
        "load-1",
        "LP-1",  # no shipment yet
        "SH-000001",
        f"]C100{SSCC_PALLET}",  # a pallet's SSCC label
        "CTN-7",
        "SHIP:SH-000002",
        "SH-000003",  # a bare shipment number switches, even at the LP step
        "PAL-9",
        "CMD:done",
        "PAL-10",
    )
    assert [(a["result"], a["code"]) for a in answers] == [
        ("refused", "NEED_SHIPMENT"),
        ("context", None),
        ("queued", None),
        ("queued", None),
        ("context", None),
        ("context", None),
        ("queued", None),
        ("context", None),
        ("refused", "NEED_SHIPMENT"),
    ]
    assert answers[2]["message"] == f"saved: load {SSCC_PALLET} onto SH-000001"
    assert answers[2]["expect"] == (
        "scan an LP or pallet to load onto SH-000001 (CMD:done when the shipment is loaded)"
    )
    assert answers[7]["message"] == "load finished (shipment SH-000003)"
    assert await queued(queue) == [
        ("ship.load", "load-1", "op-9", {"shipment": "SH-000001", "lp": SSCC_PALLET}),
        ("ship.load", "load-1", "op-9", {"shipment": "SH-000001", "lp": "CTN-7"}),
        ("ship.load", "load-1", "op-9", {"shipment": "SH-000003", "lp": "PAL-9"}),
    ]
    [_, cancel] = await scans(client, "load-1", "SH-000004", "CMD:cancel")
    assert cancel["message"] == "dropped the unfinished load (shipment SH-000004)"


async def test_the_listing_shows_pick_and_load_steps(client: httpx.AsyncClient) -> None:
    pick, load = (await client.get("/api/v1/stations")).json()
    assert (pick["flow"], pick["step"], pick["expected"]) == ("pick.confirm", "sign_in", ["badge"])
    assert [f["name"] for f in pick["flows"]] == ["pick.confirm", "ship.load"]
    assert [(s["name"], s["kinds"], s["done"]) for s in pick["flows"][0]["steps"]] == [
        ("task", ["task"], False),
        ("location", ["location", "task"], False),
        ("lp", ["lp", "location", "task"], False),
        ("qty", ["qty", "lp", "task"], True),
    ]
    assert (load["action"], load["step"], load["expect"], load["expected"]) == (
        "ship.load",
        "shipment",
        "scan the shipment (SH-...)",
        ["shipment"],
    )
    assert [s["name"] for s in pick["flows"][1]["steps"]] == ["shipment", "lp"]
    # ACT: switches a pick station to loading and back.
    answers = await scans(client, "pick-1", "OP:op-3", "ACT:ship.load", "SH-000001")
    assert answers[1]["message"] == "load (ship.load)"
    assert answers[2]["state"]["collected"] == {"shipment": "SH-000001"}


async def test_feedback_events_follow_every_pick_and_load_scan(
    client: httpx.AsyncClient, bus: EventBus
) -> None:
    async with bus.subscribe() as events:
        await scans(client, "load-1", "SH-000001", "LOC:A-01", "PAL-1")
        got = [e.data for e in events.drain() if e.kind == "feedback"]
    assert [(f["level"], f["code"], f["flow"], f["step"]) for f in got] == [
        ("info", None, "ship.load", "lp"),
        ("error", "NEED_LP", "ship.load", "lp"),
        ("ok", None, "ship.load", "lp"),
    ]
    assert got[2]["action_type"] == "ship.load" and got[2]["action_id"]
    assert got[2]["sound"] == "ok" and got[2]["operator"] == "op-9"


async def test_an_unreadable_label_at_a_pick_station_is_a_422_that_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    await scans(client, "pick-1", "OP:op-3", "PT-000001")
    bad = await client.post(
        "/api/v1/stations/pick-1/scans", json={"data": f"]C100{SSCC_PALLET[:-1]}0{GS}"}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "GS1_INVALID"
    station = (await client.get("/api/v1/stations/pick-1")).json()
    assert (station["step"], station["collected"]) == ("location", {"task": "PT-000001"})

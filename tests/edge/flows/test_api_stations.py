"""The local API's station listing and scan answers, with flows."""

from collections.abc import AsyncIterator

import httpx
import pytest

from edge.api import create_edge_api
from edge.config import EdgeConfig, StationConfig
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner


@pytest.fixture
async def client(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> AsyncIterator[httpx.AsyncClient]:
    config = config.model_copy(
        update={
            "quality_reasons": ["DAMAGED", "WET"],
            "stations": [
                StationConfig(
                    name="qa-1",
                    operator="op-5",
                    action="qc.hold",
                    flows=["qc.hold", "qc.release"],
                    idle_timeout_seconds=30,
                ),
                StationConfig(name="pack-2", operator="op-1", quality_reasons=["TORN"]),
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


async def test_the_listing_shows_flow_step_expectation_and_allowed_flows(
    client: httpx.AsyncClient,
) -> None:
    qa, pack = (await client.get("/api/v1/stations")).json()
    assert {k: qa[k] for k in ("name", "operator", "action", "flow", "step", "expected")} == {
        "name": "qa-1",
        "operator": "op-5",
        "action": "qc.hold",
        "flow": "qc.hold",
        "step": "target",
        "expected": ["lp", "lot"],
    }
    assert qa["expect"] == "scan the LP, or the lot (LOT:), to hold"
    assert (qa["quality_reasons"], qa["idle_timeout_seconds"]) == (["DAMAGED", "WET"], 30)
    assert [f["name"] for f in qa["flows"]] == ["qc.hold", "qc.release"]
    assert [s["name"] for s in qa["flows"][0]["steps"]] == ["target", "reason"]
    assert pack["quality_reasons"] == ["TORN"]  # the station's own list wins
    assert len(pack["flows"]) == 12 and pack["flows"][0]["name"] == "lp.receive"
    assert pack["flows"][1]["steps"][0] == {
        "name": "lp",
        "prompt": "scan an LP to move, or the location to put LPs away to",
        "kinds": ["lp", "location"],
        "done": False,
    }


async def test_a_scan_answer_carries_expect_and_the_collected_values(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    url = "/api/v1/stations/qa-1/scans"
    held = (await client.post(url, json={"data": "LOT:L-9"})).json()
    assert held["expect"] == "scan a reason (RSN:) to hold lot L-9: DAMAGED, WET"
    assert held["expected"] == held["state"]["expected"] == ["reason", "lp", "lot", "product"]
    assert held["state"]["collected"] == {"lot": "L-9"} and held["state"]["flows"] is None
    wrong = (await client.post(url, json={"data": "RSN:MOULDY"})).json()
    assert (wrong["result"], wrong["code"]) == ("refused", "UNKNOWN_REASON")
    assert wrong["message"].endswith("use one of: DAMAGED, WET")
    typed = (await client.post(url, json={"data": "wet"})).json()
    assert (typed["result"], typed["action_type"]) == ("queued", "qc.hold")
    assert (await queue.pending_batch(1))[0]["body"] == {"lot": "L-9", "reason": "WET"}
    station = (await client.get("/api/v1/stations/qa-1")).json()
    assert station["collected"] == {} and station["step"] == "target"
    switched = (await client.post(url, json={"data": "ACT:lp.move"})).json()
    assert (switched["result"], switched["code"]) == ("refused", "FLOW_NOT_ALLOWED")

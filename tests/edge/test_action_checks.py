"""Attacks through the local API's actions, refused at the edge with nothing queued: a station
the edge does not have, another operator than the one signed in, an absurd quantity."""

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


def receipt(qty: str, *, item: str = "RAW-1", station: str = "pack-2", op: str = "op-1") -> dict:
    return {
        "type": "lp.receive",
        "station": station,
        "operator": op,
        "body": {"item": item, "qty": qty, "uom": "kg", "location": "RECV"},
    }


GTIN13 = "9521234567899"  # an EAN-13 as a plant writes it; receipts carry it as 14 digits


@pytest.fixture
def checked(config: EdgeConfig) -> EdgeConfig:
    """The test edge plus a dock where operators sign in, and a tighter maximum for FLOUR."""
    data = config.model_dump()
    data["stations"].append(
        StationConfig(name="dock-1", action="lp.move", require_sign_in=True).model_dump()
    )
    data["max_qty_by_product"] = {"FLOUR": Decimal(500), GTIN13: Decimal(40)}
    return EdgeConfig.model_validate(data)


@pytest.fixture
async def client(
    checked: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_edge_api(
        config=checked,
        queue=queue,
        stations=StationRunner(checked, queue, bus),
        events=bus,
        status=dict,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e") as c:
        yield c


async def _depth(queue: ActionQueue) -> int:
    return (await queue.stats()).depth


async def test_an_unknown_station_is_404(client: httpx.AsyncClient, queue: ActionQueue) -> None:
    answer = await client.post("/api/v1/actions", json=receipt("5", station="ghost-9"))
    assert (answer.status_code, answer.json()["code"]) == (404, "STATION_NOT_FOUND")
    assert "no station 'ghost-9' on this edge" in answer.json()["message"]
    assert await _depth(queue) == 0


async def test_actions_at_a_sign_in_station_need_the_signed_in_operator(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    dock = (await client.get("/api/v1/stations/dock-1")).json()
    assert (dock["operator"], dock["require_sign_in"]) == (None, True)
    move: dict[str, Any] = {
        "type": "lp.move",
        "station": "dock-1",
        "body": {"lp": "LP1", "to_location": "A-01"},
    }
    nobody = await client.post("/api/v1/actions", json=move | {"operator": "op-7"})
    assert (nobody.status_code, nobody.json()["code"]) == (409, "OPERATOR_NOT_SIGNED_IN")
    assert "nobody is" in nobody.json()["message"]
    scan = await client.post("/api/v1/stations/dock-1/scans", json={"data": "LP1"})
    assert (scan.json()["result"], scan.json()["code"]) == ("refused", "NEED_SIGN_IN")

    await client.post("/api/v1/stations/dock-1/scans", json={"data": "OP:op-7"})
    impostor = await client.post("/api/v1/actions", json=move | {"operator": "op-1"})
    assert (impostor.status_code, impostor.json()["code"]) == (409, "OPERATOR_NOT_SIGNED_IN")
    assert "'op-1' is not signed in there (op-7 is signed in there)" in impostor.json()["message"]
    assert await _depth(queue) == 0

    signed_in = await client.post("/api/v1/actions", json=move | {"operator": "op-7"})
    assert signed_in.status_code == 201
    [envelope] = await queue.pending_batch(5)
    assert (envelope["station"], envelope["operator"]) == ("dock-1", "op-7")


async def test_a_station_without_sign_in_takes_any_operator(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/actions", json=receipt("5", op="op-42"))).status_code == 201


async def test_an_absurd_receipt_is_refused_with_a_message(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    answer = await client.post("/api/v1/actions", json=receipt("999999999"))
    assert (answer.status_code, answer.json()["code"]) == (422, "QTY_OVER_LIMIT")
    assert answer.json()["message"].startswith(
        "lp.receive qty 999999999 is above this edge's maximum per action (max_qty), 1000000;"
        " nothing was saved"
    )
    assert await _depth(queue) == 0
    assert (await client.post("/api/v1/actions", json=receipt("1000000"))).status_code == 201
    assert await _depth(queue) == 1


@pytest.mark.parametrize(
    "item, qty, allowed",
    [("FLOUR", "500", True), ("FLOUR", "500.001", False), ("SUGAR", "600", True)],
)
async def test_a_product_maximum_overrides_the_plant_one(
    client: httpx.AsyncClient, queue: ActionQueue, item: str, qty: str, allowed: bool
) -> None:
    answer = await client.post("/api/v1/actions", json=receipt(qty, item=item))
    assert answer.status_code == (201 if allowed else 422)
    if not allowed:
        assert "maximum per action for FLOUR (max_qty_by_product), 500" in answer.json()["message"]
    assert await _depth(queue) == (1 if allowed else 0)


async def test_a_receipt_by_gtin_meets_the_maximum_kept_under_that_gtin(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    body = {"gtin": GTIN13, "qty": "41", "location": "RECV"}
    action = {"type": "lp.receive", "station": "pack-2", "operator": "op-1", "body": body}
    answer = await client.post("/api/v1/actions", json=action)
    assert (answer.status_code, answer.json()["code"]) == (422, "QTY_OVER_LIMIT")
    assert f"maximum per action for 0{GTIN13} (max_qty_by_product), 40" in answer.json()["message"]
    body["qty"] = "40"
    assert (await client.post("/api/v1/actions", json=action)).status_code == 201
    assert await _depth(queue) == 1


async def test_every_quantity_in_a_body_is_checked(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    count = {
        "type": "count.record",
        "station": "pack-2",
        "operator": "op-1",
        "body": {
            "session": "C-1",
            "location": "A-01",
            "lps": [{"lp": "LP1", "qty": "3"}, {"lp": "LP2", "qty": "2000000"}],
        },
    }
    answer = await client.post("/api/v1/actions", json=count)
    assert (answer.status_code, answer.json()["code"]) == (422, "QTY_OVER_LIMIT")
    assert "count.record lps[1].qty 2000000" in answer.json()["message"]
    assert await _depth(queue) == 0


async def test_an_absurd_quantity_scanned_is_refused_at_the_station(
    client: httpx.AsyncClient, queue: ActionQueue
) -> None:
    url = "/api/v1/stations/line-1/scans"
    for data in ("ACT:wo.output", "LOC:A-01", "QTY:999999999"):
        assert (await client.post(url, json={"data": data})).json()["result"] == "context"
    scan = (await client.post(url, json={"data": "LP-OUT-1"})).json()
    assert (scan["result"], scan["code"]) == ("refused", "QTY_OVER_LIMIT")
    assert "wo.output qty 999999999 is above" in scan["message"]
    assert scan["action"] is None and await _depth(queue) == 0

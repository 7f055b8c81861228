"""POST /actions (the same apply path as MQTT) and the ledger, LP and conflict views."""

from datetime import UTC, datetime

from protocol import encode_batch
from tests.central.conftest import Central

API = "/api/v1"


async def test_single_envelope_answers_a_single_ack(seeded: Central) -> None:
    env = seeded.env(
        "lp.receive",
        {"item": "RAW-1", "qty": "12.5", "uom": "kg", "location": "RECV", "lp": "LP-1"},
    )
    response = await seeded.client.post(f"{API}/actions", json=env)
    assert response.status_code == 200
    ack = response.json()
    assert (ack["id"], ack["seq"], ack["result"]) == (env["id"], env["seq"], "applied")
    again = (await seeded.client.post(f"{API}/actions", json=env)).json()
    assert (again["result"], again["original"]) == ("duplicate", "applied")
    assert await seeded.rows("SELECT via FROM processed_actions") == [("http",)]


async def test_array_answers_acks_in_order(seeded: Central) -> None:
    batch = [
        seeded.env(
            "lp.receive",
            {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV", "lp": "LP-1"},
        ),
        seeded.env("lp.move", {"lp": "LP-9", "to_location": "A-01"}),
    ]
    response = await seeded.client.post(
        f"{API}/actions", content=encode_batch(batch), headers={"content-type": "application/json"}
    )
    acks = response.json()
    assert [(a["id"], a["result"]) for a in acks] == [
        (batch[0]["id"], "applied"),
        (batch[1]["id"], "conflict"),
    ]
    assert acks[1]["code"] == "LP_NOT_FOUND" and acks[1]["conflict_id"]


async def test_unreadable_body_is_rejected_not_an_error(seeded: Central) -> None:
    response = await seeded.client.post(
        f"{API}/actions", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": None,
            "seq": None,
            "result": "rejected",
            "code": "MALFORMED_JSON",
            "message": response.json()[0]["message"],
        }
    ]
    assert await seeded.rows("SELECT code, via FROM rejected_actions") == [
        ("MALFORMED_JSON", "http")
    ]


async def test_stock_moves_filters_and_pages(seeded: Central) -> None:
    ts = datetime(2026, 11, 22, 13, 0, 0, 123000, tzinfo=UTC)
    await seeded.receive("LP-1", "10")
    await seeded.receive("LP-2", "0.000001")
    move = seeded.env("lp.move", {"lp": "LP-1", "to_location": "A-01"}, ts=ts)
    await seeded.send_one(move)
    await seeded.send_one(seeded.env("lp.consume", {"lp": "LP-2", "work_order": "WO-1001"}))
    everything = (await seeded.client.get(f"{API}/stock-moves")).json()["items"]
    assert [(m["lp"], m["kind"], m["qty"]) for m in everything] == [
        ("LP-1", "RECEIPT", "10"),
        ("LP-2", "RECEIPT", "0.000001"),
        ("LP-1", "TRANSFER_OUT", "-10"),
        ("LP-1", "TRANSFER_IN", "10"),
        ("LP-2", "CONSUME", "-0.000001"),
    ]
    by_lp = (await seeded.client.get(f"{API}/stock-moves", params={"lp": "LP-1"})).json()
    assert [m["kind"] for m in by_lp["items"]] == ["RECEIPT", "TRANSFER_OUT", "TRANSFER_IN"]
    transfer_in = by_lp["items"][2]
    assert transfer_in["occurred_at"].startswith("2026-11-22T13:00:00.123")
    assert transfer_in["recorded_at"] and transfer_in["action_id"] == move["id"]
    by_wo = (
        await seeded.client.get(f"{API}/stock-moves", params={"work_order": "WO-1001"})
    ).json()["items"]
    assert [(m["lp"], m["work_order"]) for m in by_wo] == [("LP-2", "WO-1001")]
    page = (
        await seeded.client.get(
            f"{API}/stock-moves", params={"kind": "RECEIPT", "limit": 1, "offset": 1}
        )
    ).json()
    assert [m["lp"] for m in page["items"]] == ["LP-2"] and page["limit"] == 1
    bad = await seeded.client.get(f"{API}/stock-moves", params={"kind": "TELEPORT"})
    assert bad.status_code == 422


async def test_license_plate_lookup(seeded: Central) -> None:
    await seeded.receive("LP-1", "7.5")
    lp = (await seeded.client.get(f"{API}/license-plates/LP-1")).json()
    assert {k: lp[k] for k in ("number", "product", "qty", "uom", "location", "status")} == {
        "number": "LP-1",
        "product": "RAW-1",
        "qty": "7.5",
        "uom": "kg",
        "location": "RECV",
        "status": "available",
    }
    missing = await seeded.client.get(f"{API}/license-plates/LP-404")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


async def test_conflicts_filter_by_edge(seeded: Central) -> None:
    await seeded.provision("edge-2")
    await seeded.send_one(seeded.env("lp.move", {"lp": "NOPE", "to_location": "A-01"}))
    await seeded.send(
        seeded.env("lp.move", {"lp": "NOPE2", "to_location": "A-01"}, edge="edge-2"), edge="edge-2"
    )
    items = (await seeded.client.get(f"{API}/conflicts", params={"edge": "edge-2"})).json()
    assert [(c["edge"], c["envelope"]["body"]["lp"], c["status"]) for c in items["items"]] == [
        ("edge-2", "NOPE2", "open")
    ]

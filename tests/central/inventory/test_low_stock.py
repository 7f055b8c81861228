"""Low-stock thresholds: ``inventory.low_stock`` once per crossing, in the transaction of the
change that crossed, for the product's own site only, exactly once when two edges cross at
once; and the API that sets, lists and removes thresholds."""

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from central.clock import now
from central.db.tables import low_stock_thresholds
from central.events.reading import stored_events
from tests.central.conftest import SITE, Central
from tests.central.inventory.test_lp_numbers_per_site import OTHER, seed_other_site
from tests.central.production.test_reservations import add_bom, add_wo, release

API = "/api/v1"
LOW = "inventory.low_stock"


async def product_id(central: Central, code: str = "RAW-1", site: str = SITE) -> int:
    """A product's id by site and code."""
    found = await central.client.get(f"{API}/products", params={"site": site, "q": code})
    [item] = [p for p in found.json()["items"] if p["code"] == code]
    return int(item["id"])


async def set_min(central: Central, min_qty: str, code: str = "RAW-1", site: str = SITE) -> Any:
    """PUT a threshold (as the open API's caller); answers the response's JSON."""
    pid = await product_id(central, code, site)
    response = await central.client.put(
        f"{API}/products/{pid}/low-stock", json={"min_qty": min_qty}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def alerts(central: Central) -> list[dict[str, Any]]:
    """The inventory.low_stock events written so far, oldest first: site, subject, cause and
    payload of each."""
    async with central.engine.connect() as conn:
        stored = [item for _, item in await stored_events(conn) if item["type"] == LOW]
    return [
        {"site": e["site"], "subject": e["subject"], "cause": e["cause"], **e["payload"]}
        for e in stored
    ]


async def consume(central: Central, lp: str, qty: str | None = None, **kw: Any) -> dict[str, Any]:
    """Consume (part of) an LP into WO-1001 (or ``work_order``); answers the envelope sent."""
    body = {"lp": lp, "work_order": kw.pop("work_order", "WO-1001")}
    if qty is not None:
        body["qty"] = qty
    env = central.env("lp.consume", body, **kw)
    (ack,) = await central.send(env, **{k: v for k, v in kw.items() if k in ("edge", "site")})
    assert ack.result == "applied", ack
    return env


async def test_one_event_per_crossing_down_and_a_restock_re_arms(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    await seeded.receive("LP-2", "10")
    state = await set_min(seeded, "12")
    assert (state["qty"], state["below"], state["alerted"]) == ("20", False, False)
    await consume(seeded, "LP-1", "5")  # 15: above
    split = seeded.env("lp.split", {"lp": "LP-2", "qty": "4", "new_lp": "LP-2B"})
    assert (await seeded.send_one(split)).result == "applied"  # stock unchanged by a split
    assert await alerts(seeded) == []

    crossing = await consume(seeded, "LP-1")  # the rest, 5: 10 < 12
    [event] = await alerts(seeded)
    assert (event["subject"], event["cause"]) == ("RAW-1", crossing["id"])
    assert {k: event[k] for k in ("product", "uom", "min_qty", "qty")} == {
        "product": "RAW-1",
        "uom": "kg",
        "min_qty": "12",
        "qty": "10",
    }
    assert event["change"] == {
        "lp": "LP-1",
        "kind": "CONSUME",
        "action_id": crossing["id"],
        "cause": "action",
    }

    await consume(seeded, "LP-2", "2")  # 8: further down, still below: nothing more
    await consume(seeded, "LP-2B", "1")
    assert len(await alerts(seeded)) == 1
    listed = (await seeded.client.get(f"{API}/low-stock", params={"below": "true"})).json()
    [row] = listed["items"]
    assert (row["product"], row["qty"], row["below"], row["alerted"]) == ("RAW-1", "7", True, True)

    await seeded.receive("LP-3", "10")  # 17: back above, re-armed, nothing written
    assert len(await alerts(seeded)) == 1
    pid = await product_id(seeded)
    state = (await seeded.client.get(f"{API}/products/{pid}/low-stock")).json()
    assert (state["qty"], state["below"], state["alerted"]) == ("17", False, False)
    assert (await seeded.client.get(f"{API}/low-stock", params={"below": "true"})).json()[
        "items"
    ] == []

    again = await consume(seeded, "LP-3", "6")  # 11: below again, told again
    events = await alerts(seeded)
    assert [(e["qty"], e["cause"]) for e in events] == [("10", crossing["id"]), ("11", again["id"])]


async def test_held_stock_is_not_available_and_its_release_re_arms(seeded: Central) -> None:
    await seeded.receive("LP-1", "10", lot="L1")
    await seeded.receive("LP-2", "10", lot="L2")
    await set_min(seeded, "15")
    held = seeded.env("qc.hold", {"lot": "L1", "item": "RAW-1", "reason": "swab positive"})
    assert (await seeded.send_one(held)).result == "applied"
    [event] = await alerts(seeded)
    assert event["qty"] == "10"
    # no ledger row: the status, and the hold that changed it as the cause
    assert event["change"] == {
        "lp": "LP-1",
        "status": "on_hold",
        "action_id": held["id"],
        "cause": "action",
    }
    assert event["cause"] == held["id"]
    released = seeded.env("qc.release", {"lot": "L1", "item": "RAW-1", "reason": "lab cleared"})
    assert (await seeded.send_one(released)).result == "applied"
    pid = await product_id(seeded)
    state = (await seeded.client.get(f"{API}/products/{pid}/low-stock")).json()
    assert (state["qty"], state["alerted"]) == ("20", False)
    assert len(await alerts(seeded)) == 1


async def test_a_batch_that_fails_writes_no_event(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    await set_min(seeded, "5")
    env = seeded.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001", "qty": "6"})
    with pytest.raises(RuntimeError):
        async with seeded.engine.begin() as conn:
            # The batch's own transaction, failing after the batch wrote everything: its
            # event was written in it, and goes with it.
            await seeded.processor._apply_batch(conn, [env], now(), SITE, "edge-1", "mqtt")
            found = [item for _, item in await stored_events(conn) if item["type"] == LOW]
            assert len(found) == 1
            raise RuntimeError("the batch's transaction failed")
    assert await alerts(seeded) == []
    async with seeded.engine.connect() as conn:
        assert (await conn.execute(select(low_stock_thresholds.c.below))).scalar_one() is False
    assert (await seeded.send_one(env)).result == "applied"  # sent again: applied, told once
    assert [e["cause"] for e in await alerts(seeded)] == [env["id"]]


async def test_thresholds_of_another_site_are_not_touched(seeded: Central) -> None:
    await seed_other_site(seeded)  # plant-2 has its own RAW-1, and edge-2
    await seeded.receive("LP-1", "10")
    theirs = seeded.env(
        "lp.receive",
        {"item": "RAW-1", "qty": "3", "uom": "kg", "location": "RECV", "lp": "LP-9"},
        edge="edge-2",
        site=OTHER,
    )
    assert (await seeded.send(theirs, edge="edge-2", site=OTHER))[0].result == "applied"
    await set_min(seeded, "8")
    other = await set_min(seeded, "2", site=OTHER)
    assert (other["site"], other["qty"], other["below"]) == (OTHER, "3", False)
    await consume(seeded, "LP-1", "9")  # plant-1's RAW-1: 1 < 8
    [event] = await alerts(seeded)
    assert (event["site"], event["qty"]) == (SITE, "1")
    rows = await seeded.rows(
        "SELECT site, below, crossed_at IS NULL FROM low_stock_thresholds ORDER BY site"
    )
    assert [(r[0], bool(r[1]), bool(r[2])) for r in rows] == [
        (SITE, True, False),
        (OTHER, False, True),  # never crossed, never written to since it was set
    ]


async def test_a_threshold_set_above_the_stock_alerts_at_once(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    state = await set_min(seeded, "50")
    assert (state["below"], state["alerted"]) == (True, True)
    [event] = await alerts(seeded)
    [entry] = await seeded.rows(
        "SELECT id FROM audit_log WHERE action = 'product.low_stock' ORDER BY at"
    )
    assert (event["qty"], event["min_qty"], event["cause"]) == ("10", "50", entry[0])
    assert event["change"] == {"action_id": entry[0], "cause": "api"}
    await set_min(seeded, "60")  # still below, already told
    assert len(await alerts(seeded)) == 1
    state = await set_min(seeded, "5")  # above now: re-armed
    assert (state["below"], state["alerted"]) == (False, False)
    assert len(await alerts(seeded)) == 1
    actions = await seeded.rows("SELECT action, details FROM audit_log ORDER BY at")
    assert [a for a, _ in actions if a.startswith("product.low_stock")] == ["product.low_stock"] * 3


async def test_a_count_approved_through_the_api_crosses_at_the_request_end(
    seeded: Central,
) -> None:
    await seeded.receive("LP-1", "10", location="A-01")
    await set_min(seeded, "8")
    count = await seeded.client.post(
        f"{API}/counts", json={"site": SITE, "location": "A-01", "scope": "full"}
    )
    assert count.status_code == 201, count.text
    session = count.json()
    record = seeded.env(
        "count.record",
        {"session": session["number"], "location": "A-01", "lps": [{"lp": "LP-1", "qty": "4"}]},
    )
    assert (await seeded.send_one(record)).result == "applied"
    assert await alerts(seeded) == []  # counted, not yet approved: stock unchanged
    approved = await seeded.client.post(f"{API}/counts/{session['id']}/approve")
    assert approved.status_code == 200, approved.text
    [event] = await alerts(seeded)
    assert event["qty"] == "4"
    [(entry,)] = await seeded.rows("SELECT id FROM audit_log WHERE action = 'count.approve'")
    assert event["cause"] == entry
    assert event["change"] == {"lp": "LP-1", "kind": "ADJUST", "action_id": entry, "cause": "api"}


async def test_api_validation_roles_and_sites(seeded: Central, guarded: httpx.AsyncClient) -> None:
    await seed_other_site(seeded)
    pid = await product_id(seeded)
    url = f"{API}/products/{pid}/low-stock"
    for body, fragment in (
        ({"min_qty": "0"}, "greater than 0"),
        ({"min_qty": "-3"}, "greater than 0"),
        ({"min_qty": 5}, "decimal strings"),
        ({"min_qty": "five"}, "not a plain decimal string"),
        ({}, "min_qty"),
        ({"min_qty": "5", "max_qty": "9"}, "max_qty"),
    ):
        response = await seeded.client.put(url, json=body)
        assert response.status_code == 422, (body, response.text)
        assert fragment in response.text, (body, response.text)
    response = await seeded.client.put(url, json={"min_qty": "5", "site": OTHER})
    assert response.status_code == 422
    assert response.json()["code"] == "SITE_MISMATCH"
    assert "is of site plant-1, not plant-2" in response.json()["message"]
    assert (
        await seeded.client.put(f"{API}/products/999999/low-stock", json={"min_qty": "1"})
    ).status_code == 404
    missing = await seeded.client.get(url)
    assert (missing.status_code, missing.json()["code"]) == (404, "NO_THRESHOLD")
    assert (await seeded.client.delete(url)).status_code == 404
    assert await seeded.count("low_stock_thresholds") == 0  # nothing written by a refusal

    planner = await seeded.bearer("tech-1", ["technical"], [SITE])
    stranger = await seeded.bearer("tech-2", ["technical"], [OTHER])
    floor = await seeded.bearer("wh-1", ["warehouse"], [SITE])
    assert (await guarded.put(url, json={"min_qty": "5"}, headers=floor)).status_code == 403
    refused = await guarded.put(url, json={"min_qty": "5"}, headers=stranger)
    assert refused.status_code == 404  # another plant's product looks missing
    assert (await guarded.put(url, json={"min_qty": "5"}, headers=planner)).status_code == 200
    assert (await guarded.get(url, headers=floor)).json()["min_qty"] == "5"  # reads: any role
    assert (await guarded.get(url, headers=stranger)).status_code == 404
    assert (await guarded.get(f"{API}/low-stock", headers=stranger)).json()["items"] == []
    other_site = await guarded.get(f"{API}/low-stock", params={"site": SITE}, headers=stranger)
    assert other_site.status_code == 403
    assert (await guarded.delete(url, headers=stranger)).status_code == 404
    gone = await guarded.delete(url, headers=planner)
    assert (gone.status_code, gone.json()["min_qty"]) == (200, "5")
    assert await seeded.count("low_stock_thresholds") == 0
    rows = await seeded.rows(
        "SELECT action, actor FROM audit_log WHERE action LIKE 'product.low_stock%' ORDER BY at"
    )
    assert rows == [("product.low_stock", "tech-1"), ("product.low_stock.delete", "tech-1")]


async def test_a_product_deleted_takes_its_threshold(seeded: Central) -> None:
    created = await seeded.client.post(
        f"{API}/products", json={"site": SITE, "code": "NEW-1", "name": "New", "uom": "kg"}
    )
    pid = created.json()["id"]
    await set_min(seeded, "3", code="NEW-1")
    assert (await seeded.client.delete(f"{API}/products/{pid}")).status_code == 200
    assert await seeded.count("low_stock_thresholds") == 0


async def _waiting_on_locks(central: Central) -> int:
    """Backends of this database waiting for a row lock (PostgreSQL)."""
    [(n,)] = await central.rows(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    return int(n)


async def test_two_edges_crossing_at_once_write_one_event(seeded: Central) -> None:
    await seeded.provision("edge-2")
    made = await seeded.client.post(
        f"{API}/work-orders",
        json={"site": SITE, "number": "WO-1002", "product": "FG-1", "qty_planned": "10"},
    )
    assert made.status_code == 201, made.text
    assert (await seeded.client.post(f"{API}/work-orders/{made.json()['id']}/release")).is_success
    await seeded.receive("LP-1", "8")
    await seeded.receive("LP-2", "7")
    await set_min(seeded, "10")  # 15 now; each consume alone takes it under
    one = seeded.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001"})
    two = seeded.env("lp.consume", {"lp": "LP-2", "work_order": "WO-1002"}, edge="edge-2")
    if seeded.engine.dialect.name != "postgresql":
        acks = await asyncio.gather(seeded.send(one), seeded.send(two, edge="edge-2"))
    else:
        # Hold the threshold row so both batches reach their check before either commits:
        # each must wait for it, then the second sees the first's stock and its alert.
        async with seeded.engine.connect() as gate:
            await gate.execute(text("SELECT 1 FROM low_stock_thresholds FOR UPDATE"))
            both = asyncio.gather(seeded.send(one), seeded.send(two, edge="edge-2"))
            for _ in range(200):
                if await _waiting_on_locks(seeded) == 2:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the two batches never both waited for the threshold")
            await gate.rollback()
            acks = await both
    assert [a.result for (a,) in acks] == ["applied", "applied"]
    events = await alerts(seeded)
    assert len(events) == 1
    assert events[0]["qty"] in ("7", "8")  # whichever committed first crossed
    pid = await product_id(seeded)
    state = (await seeded.client.get(f"{API}/products/{pid}/low-stock")).json()
    assert (state["qty"], state["alerted"]) == ("0", True)
    assert Decimal(state["min_qty"]) == 10


async def test_reserved_stock_is_not_available_a_release_crosses_a_cancel_re_arms(
    seeded: Central,
) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await seeded.receive("LP-1", "10")
    await seeded.receive("LP-2", "10")
    await set_min(seeded, "8")
    wo = await add_wo(seeded, "WO-R", "15")
    assert (await release(seeded, wo["id"])).status_code == 200  # reserves 15: 5 left
    [event] = await alerts(seeded)
    [(entry,)] = await seeded.rows("SELECT id FROM audit_log WHERE action = 'wo.release'")
    assert (event["qty"], event["cause"]) == ("5", entry)
    assert event["change"]["kind"] == "RESERVE"
    cancelled = await seeded.client.post(
        f"{API}/work-orders/{wo['id']}/cancel", json={"reason": "plan changed"}
    )
    assert cancelled.status_code == 200, cancelled.text
    pid = await product_id(seeded)
    state = (await seeded.client.get(f"{API}/products/{pid}/low-stock")).json()
    assert (state["qty"], state["below"], state["alerted"]) == ("20", False, False)
    assert len(await alerts(seeded)) == 1

"""A day at the plant over a real broker: the floor's actions arrive on MQTT, staff use REST.

Products, a BOM, a work order released with FEFO reservations, receipts, consumption, output,
a split, a quality hold that turns a consume into a conflict, a supervisor's resolution, a
stock count approved into an adjustment, the recall trace both ways, and a replay of the whole
day answered `duplicate` without touching the ledger. The consistency check holds throughout.
"""

from typing import Any

from tests.central.mqtt_plant import API, SITE, Plant


async def test_a_day_at_the_plant(plant: Plant) -> None:
    p, api = plant, plant.api
    raw = await p.ok(
        await api.post(
            f"{API}/products",
            json={
                "site": SITE,
                "code": "FLOUR",
                "name": "Flour",
                "uom": "kg",
                "allergens": ["gluten"],
            },
        ),
        201,
    )
    cookie = await p.ok(
        await api.post(
            f"{API}/products",
            json={
                "site": SITE,
                "code": "COOKIE",
                "name": "Cookie box",
                "uom": "ea",
                "type": "finished",
            },
        ),
        201,
    )
    assert raw["allergens"] == ["gluten"]
    await p.ok(
        await api.post(
            f"{API}/products/{cookie['id']}/bom",
            json={"items": [{"component": "FLOUR", "qty_per": "0.5"}]},
        ),
        201,
    )
    for code, kind in (
        ("RECV", "receiving"),
        ("A-01", "storage"),
        ("LINE-1", "production"),
        ("SHIP-1", "shipping"),
    ):
        await p.ok(
            await api.post(
                f"{API}/locations", json={"site": SITE, "code": code, "name": code, "kind": kind}
            ),
            201,
        )

    # Receipts from the floor: three flour LPs, the middle one expires first.
    receive = {"item": "FLOUR", "uom": "kg", "location": "RECV"}
    acks = await p.send(
        [
            p.env(
                "lp.receive",
                {**receive, "lp": "F-1", "qty": "10", "lot": "L1", "expiry": "2027-03-01"},
                "2026-11-23T06:00:00.000Z",
            ),
            p.env(
                "lp.receive",
                {**receive, "lp": "F-2", "qty": "10", "lot": "L2", "expiry": "2027-01-01"},
                "2026-11-23T06:00:01.000Z",
            ),
            p.env(
                "lp.receive",
                {**receive, "lp": "F-3", "qty": "4", "lot": "L1", "expiry": "2027-03-01"},
                "2026-11-23T06:00:02.000Z",
            ),
        ]
    )
    assert [a["result"] for a in acks] == ["applied"] * 3

    # Planning: a work order for 24 boxes needs 12 kg; release reserves FEFO (F-2, then F-1).
    wo = await p.ok(
        await api.post(
            f"{API}/work-orders",
            json={
                "site": SITE,
                "number": "WO-7",
                "product": "COOKIE",
                "qty": "24",
                "due_date": "2026-11-24",
            },
        ),
        201,
    )
    assert wo["status"] == "planned"
    too_big = await api.post(
        f"{API}/work-orders",
        json={
            "site": SITE,
            "number": "WO-8",
            "product": "COOKIE",
            "qty": "100",
            "status": "released",
        },
    )
    assert too_big.status_code == 409 and too_big.json()["code"] == "MATERIAL_SHORT"
    assert too_big.json()["details"]["short"][0]["short"] == "26"
    await p.ok(await api.post(f"{API}/work-orders/{wo['id']}/release"))
    materials = await p.ok(await api.get(f"{API}/work-orders/{wo['id']}/materials"))
    (flour,) = materials["items"]
    assert (flour["required"], flour["reserved"]) == ("12", "12")
    assert [lp["lp"] for lp in flour["lps"]] == ["F-2", "F-1"]

    # The line: start, consume F-2 whole and 2 kg of F-1, report 24 boxes, split a case off.
    acks = await p.send(
        [
            p.env("wo.start", {"work_order": "WO-7"}, "2026-11-23T07:00:00.000Z"),
            p.env("lp.move", {"lp": "F-2", "to_location": "LINE-1"}, "2026-11-23T07:01:00.000Z"),
            p.env("lp.consume", {"lp": "F-2", "work_order": "WO-7"}, "2026-11-23T07:02:00.000Z"),
            p.env(
                "lp.consume",
                {"lp": "F-1", "work_order": "WO-7", "qty": "2"},
                "2026-11-23T07:03:00.000Z",
            ),
            p.env(
                "wo.output",
                {
                    "work_order": "WO-7",
                    "qty": "24",
                    "location": "A-01",
                    "lp": "C-1",
                    "lot": "B-1123",
                },
                "2026-11-23T08:00:00.000Z",
            ),
            p.env(
                "lp.split", {"lp": "C-1", "qty": "6", "new_lp": "C-2"}, "2026-11-23T08:05:00.000Z"
            ),
        ]
    )
    assert [a["result"] for a in acks] == ["applied"] * 6, acks

    # Quality holds lot L1; a consume of F-3 (lot L1) becomes a conflict, not a silent error.
    acks = await p.send(
        [
            p.env(
                "qc.hold",
                {"lot": "L1", "item": "FLOUR", "reason": "mould on a sack"},
                "2026-11-23T09:00:00.000Z",
            ),
            p.env("lp.consume", {"lp": "F-3", "work_order": "WO-7"}, "2026-11-23T09:05:00.000Z"),
            p.env("lp.move", {"lp": "C-2", "to_location": "SHIP-1"}, "2026-11-23T09:10:00.000Z"),
        ]
    )
    assert [(a["result"], a.get("code")) for a in acks] == [
        ("applied", None),
        ("conflict", "LP_ON_HOLD"),
        ("applied", None),
    ]
    lp = await p.ok(await api.get(f"{API}/license-plates/F-3"))
    assert lp["status"] == "on_hold"

    # The supervisor applies it anyway, with a reason: the ledger shows the API call's id.
    resolved = await p.ok(
        await api.post(
            f"{API}/conflicts/{acks[1]['conflict_id']}/resolve",
            json={"resolution": "apply", "reason": "lab cleared this sack"},
        )
    )
    assert resolved["conflict"]["status"] == "resolved"
    forced = await p.ok(await api.get(f"{API}/stock-moves", params={"lp": "F-3"}))
    consume = [m for m in forced["items"] if m["kind"] == "CONSUME"]
    assert len(consume) == 1 and consume[0]["cause"] == "api"
    assert consume[0]["action_id"] == resolved["conflict"]["resolution_cause"]

    # Recall: what went into C-2 (up), and where lot L2's sack went (down).
    up = await p.ok(
        await api.get(
            f"{API}/license-plates/C-2/genealogy", params={"direction": "up", "depth": 10}
        )
    )
    (c1,) = up["tree"]["children"]
    assert c1["lp"]["number"] == "C-1"
    assert {n["lp"]["number"] for n in c1["children"]} == {"F-1", "F-2"}
    down = await p.ok(
        await api.get(f"{API}/license-plates/F-2/genealogy", params={"direction": "down"})
    )
    (made,) = down["tree"]["children"]
    assert made["lp"]["number"] == "C-1" and made["edge"]["work_order"] == "WO-7"
    assert [n["lp"]["number"] for n in made["children"]] == ["C-2"]

    # A count at A-01 finds 17 boxes on C-1 (the books say 18); approval books -1.
    session = await p.ok(
        await api.post(f"{API}/counts", json={"site": SITE, "location": "A-01", "number": "CNT-1"}),
        201,
    )
    (ack,) = await p.send(
        [
            p.env(
                "count.record",
                {"session": "CNT-1", "location": "A-01", "lps": [{"lp": "C-1", "qty": "17"}]},
                "2026-11-23T10:00:00.000Z",
            )
        ]
    )
    assert ack["result"] == "applied"
    variance = await p.ok(await api.get(f"{API}/counts/{session['id']}/variance"))
    assert [(v["lp"], v["expected"], v["counted"], v["variance"]) for v in variance["lines"]] == [
        ("C-1", "18", "17", "-1")
    ]
    approval = await p.ok(await api.post(f"{API}/counts/{session['id']}/approve"))
    assert [(a["lp"], a["qty"]) for a in approval["adjusted"]] == [("C-1", "-1")]

    # Available stock and the ledger check agree; a replay of the day changes nothing.
    stock = await p.ok(await api.get(f"{API}/inventory/available", params={"product": "COOKIE"}))
    assert {(s["location"], s["on_hand"]) for s in stock["items"]} == {
        ("A-01", "17"),
        ("SHIP-1", "6"),
    }
    check = await p.ok(await api.get(f"{API}/inventory/check"))
    assert check["ok"], check["problems"]
    ledger = (await p.ok(await api.get(f"{API}/stock-moves", params={"limit": 1000})))["items"]
    for batch in list(p.sent):  # an edge that lost every ack sends its whole day again
        first = [a["result"] for a in await p.send(batch)]
        assert first == ["duplicate"] * len(batch)
    after = (await p.ok(await api.get(f"{API}/stock-moves", params={"limit": 1000})))["items"]
    assert after == ledger


async def test_production_rules_over_the_broker(plant: Plant) -> None:
    """One dough batch, three outputs: every output traces to the flour; a product not on the
    bill and an output beyond plan wait as conflicts until a supervisor forces them; the lot
    recall reaches every output, the forced one included."""
    p, api = plant, plant.api
    ids: dict[str, int] = {}
    for code, uom, kind in (
        ("FLOUR", "kg", "raw"),
        ("SALT", "kg", "raw"),
        ("DOUGH", "kg", "intermediate"),
    ):
        product = {"site": SITE, "code": code, "name": code, "uom": uom, "type": kind}
        ids[code] = (await p.ok(await api.post(f"{API}/products", json=product), 201))["id"]
    bom = {"items": [{"component": "FLOUR", "qty_per": "1"}]}
    await p.ok(await api.post(f"{API}/products/{ids['DOUGH']}/bom", json=bom), 201)
    line = {"site": SITE, "code": "L-1", "name": "Line 1", "kind": "production"}
    await p.ok(await api.post(f"{API}/locations", json=line), 201)
    receive = {"uom": "kg", "location": "L-1"}
    acks = await p.send(
        [
            p.env(
                "lp.receive",
                {**receive, "item": "FLOUR", "qty": "30", "lp": "F-1", "lot": "FL-9"},
                "2026-11-23T06:00:00.000Z",
            ),
            p.env(
                "lp.receive",
                {**receive, "item": "SALT", "qty": "5", "lp": "S-1"},
                "2026-11-23T06:00:01.000Z",
            ),
        ]
    )
    assert [a["result"] for a in acks] == ["applied"] * 2
    wo = {"site": SITE, "number": "WO-D", "product": "DOUGH", "qty": "30", "status": "released"}
    await p.ok(await api.post(f"{API}/work-orders", json=wo), 201)

    def out(n: int, qty: str) -> dict[str, Any]:
        body = {"work_order": "WO-D", "qty": qty, "location": "L-1", "lp": f"D-{n}"}
        return p.env("wo.output", body, f"2026-11-23T07:0{n}:00.000Z")

    acks = await p.send(
        [
            p.env("lp.consume", {"lp": "F-1", "work_order": "WO-D"}, "2026-11-23T07:00:00.000Z"),
            out(1, "10"),
            out(2, "10"),
            out(3, "10"),
            p.env(
                "lp.consume",
                {"lp": "S-1", "work_order": "WO-D", "qty": "1"},
                "2026-11-23T07:05:00.000Z",
            ),
            out(6, "5"),  # 35 of 30 planned: past the 10 % tolerance
        ]
    )
    assert [(a["result"], a.get("code")) for a in acks] == [
        *[("applied", None)] * 4,
        ("conflict", "NOT_ON_BOM"),
        ("conflict", "OVER_PRODUCTION"),
    ], acks
    for ack in acks[4:]:
        await p.ok(
            await api.post(
                f"{API}/conflicts/{ack['conflict_id']}/resolve",
                json={"resolution": "apply", "reason": "supervisor on the line"},
            )
        )
    recall = await p.ok(
        await api.get(f"{API}/lots/FL-9/genealogy", params={"item": "FLOUR", "direction": "down"})
    )
    assert sorted(lp["number"] for lp in recall["lps"]) == ["D-1", "D-2", "D-3", "D-6", "F-1"]
    up = await p.ok(
        await api.get(f"{API}/license-plates/D-6/genealogy", params={"direction": "up"})
    )
    assert sorted(lp["number"] for lp in up["lps"]) == ["D-6", "F-1", "S-1"]
    check = await p.ok(await api.get(f"{API}/inventory/check"))
    assert check["ok"], check["problems"]

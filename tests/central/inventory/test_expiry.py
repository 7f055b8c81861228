"""Expiry is a rule: shelf life dates receipts without an expiry and every output, FEFO then
works for intermediates, and a lot that arrives expired is taken in on an EXPIRED_ON_RECEIPT
hold, visible and released through the holds API."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from protocol import AckResult, encode_batch
from protocol.envelope import seal_envelope
from tests.central.conftest import EDGE, SITE, Central

API = "/api/v1"


async def product(c: Central, code: str, kind: str, shelf_life_days: int | None) -> int:
    """A product with a shelf life, through the API; answers its id."""
    response = await c.client.post(
        f"{API}/products",
        json={
            "site": SITE,
            "code": code,
            "name": code,
            "uom": "kg",
            "type": kind,
            "shelf_life_days": shelf_life_days,
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def bom(c: Central, product_id: int, component: str) -> None:
    response = await c.client.post(
        f"{API}/products/{product_id}/bom",
        json={"items": [{"component": component, "qty_per": "1"}]},
    )
    assert response.status_code == 201, response.text


async def expiry(c: Central, lp: str) -> date | None:
    shown = (await c.client.get(f"{API}/license-plates/{lp}")).json()["expiry"]
    return date.fromisoformat(shown) if shown else None


async def received(c: Central, lp: str, item: str, ts: datetime, **body: Any) -> Any:
    return await c.send_one(
        c.env(
            "lp.receive",
            {"item": item, "qty": "10", "uom": "kg", "location": "RECV", "lp": lp, **body},
            ts=ts,
        )
    )


async def made(c: Central, lp: str, wo: str, ts: datetime, **body: Any) -> Any:
    return await c.send_one(
        c.env(
            "wo.output",
            {"work_order": wo, "qty": "5", "location": "A-01", "lp": lp, **body},
            ts=ts,
        )
    )


async def test_receipts_without_expiry_are_dated_by_shelf_life(seeded: Central) -> None:
    await product(seeded, "MILK", "raw", 10)
    now = datetime.now(UTC)
    five_days_ago = now - timedelta(days=5)
    assert (await received(seeded, "M-1", "MILK", now)).result == AckResult.APPLIED
    assert (await received(seeded, "M-2", "MILK", five_days_ago)).result == AckResult.APPLIED
    label = (now + timedelta(days=30)).date()
    ack = await received(seeded, "M-3", "MILK", now, expiry=label.isoformat())
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    assert await expiry(seeded, "M-1") == now.date() + timedelta(days=10)
    assert await expiry(seeded, "M-2") == five_days_ago.date() + timedelta(days=10)  # receipt day
    assert await expiry(seeded, "M-3") == label  # the supplier's label wins
    await seeded.receive("R-1", "1")  # RAW-1 has no shelf life: no expiry, never expires
    assert await expiry(seeded, "R-1") is None


async def test_a_receipt_is_dated_by_its_label_first(seeded: Central) -> None:
    await product(seeded, "MILK", "raw", 10)
    now = datetime.now(UTC)
    made, label, best = now.date() - timedelta(days=3), now.date() + timedelta(days=30), now.date()
    dates = {"production_date": made.isoformat(), "best_before": best.isoformat()}
    acks = [
        await received(seeded, "M-1", "MILK", now, expiry=label.isoformat(), **dates),
        await received(seeded, "M-2", "MILK", now, **dates),
        await received(seeded, "M-3", "MILK", now, production_date=made.isoformat()),
        await received(seeded, "R-1", "RAW-1", now, production_date=made.isoformat()),
    ]
    assert [(a.result, a.code) for a in acks] == [(AckResult.APPLIED, None)] * 4
    assert await expiry(seeded, "M-1") == label  # the label's expiry (AI 17) first
    assert await expiry(seeded, "M-2") == best  # then its best-before date (AI 15)
    assert await expiry(seeded, "M-3") == made + timedelta(days=10)  # production + shelf life
    assert await expiry(seeded, "R-1") is None  # no shelf life: a production date dates nothing
    shown = (await seeded.client.get(f"{API}/license-plates/M-1")).json()
    assert (shown["production_date"], shown["best_before"]) == (made.isoformat(), best.isoformat())
    # A best-before date already past, or a production date longer ago than the shelf life,
    # is an expired receipt: taken in, on hold.
    past = (now - timedelta(days=1)).date().isoformat()
    late = await received(seeded, "M-4", "MILK", now, best_before=past)
    old = await received(seeded, "M-5", "MILK", now, production_date="2026-01-01")
    assert [(a.result, a.code) for a in (late, old)] == [
        (AckResult.APPLIED, "EXPIRED_ON_RECEIPT")
    ] * 2
    assert await seeded.rows(
        "SELECT number, status FROM license_plates WHERE number IN ('M-4', 'M-5') ORDER BY number"
    ) == [("M-4", "on_hold"), ("M-5", "on_hold")]


async def test_outputs_are_dated_by_shelf_life_and_carry_no_expiry_of_their_own(
    seeded: Central,
) -> None:
    dough = await product(seeded, "DOUGH", "intermediate", 3)
    await bom(seeded, dough, "RAW-1")
    await seeded.receive("R-1", "100")
    wo = await seeded.client.post(
        f"{API}/work-orders",
        json={
            "site": SITE,
            "number": "WO-D",
            "product": "DOUGH",
            "qty": "10",
            "status": "released",
        },
    )
    assert wo.status_code == 201, wo.text
    yesterday = datetime.now(UTC) - timedelta(days=1)
    assert (await made(seeded, "D-1", "WO-D", yesterday)).result == AckResult.APPLIED
    assert await expiry(seeded, "D-1") == yesterday.date() + timedelta(days=3)  # production day
    # an output's expiry is the rule's: a body naming one is refused, not half-applied
    signed = seal_envelope(
        type="wo.output",
        site=SITE,
        edge=EDGE,
        station="st-1",
        operator="op-1",
        seq=seeded.seqs[EDGE] + 1,
        wire_body={
            "work_order": "WO-D",
            "qty": "5",
            "location": "A-01",
            "lp": "D-2",
            "expiry": "2099-01-01",
        },
        secret=seeded.secrets[EDGE],
    )
    (ack,) = await seeded.processor.process_message(
        encode_batch([signed]), topic_site=SITE, topic_edge=EDGE, via="mqtt"
    )
    assert (ack.result, ack.code) == (AckResult.REJECTED, "BODY_INVALID")
    assert ack.message is not None and "expiry" in ack.message
    assert await seeded.rows("SELECT number FROM license_plates WHERE number = 'D-2'") == []
    # a product without shelf life makes LPs without expiry
    ack = await made(seeded, "FG-OUT", "WO-1001", yesterday)
    assert ack.result == AckResult.APPLIED
    assert await expiry(seeded, "FG-OUT") is None


async def test_fefo_picks_the_older_intermediate_first(seeded: Central) -> None:
    dough = await product(seeded, "DOUGH", "intermediate", 3)
    bread = await product(seeded, "BREAD", "finished", 2)
    await bom(seeded, dough, "RAW-1")
    await bom(seeded, bread, "DOUGH")
    await seeded.receive("R-1", "100")
    made_wo = await seeded.client.post(
        f"{API}/work-orders",
        json={
            "site": SITE,
            "number": "WO-D",
            "product": "DOUGH",
            "qty": "10",
            "status": "released",
        },
    )
    assert made_wo.status_code == 201
    now = datetime.now(UTC)
    # the newer batch is reported first, the older one (made two days ago) is replayed later
    assert (await made(seeded, "D-NEW", "WO-D", now)).result == AckResult.APPLIED
    assert (await made(seeded, "D-OLD", "WO-D", now - timedelta(days=2))).result == (
        AckResult.APPLIED
    )
    response = await seeded.client.post(
        f"{API}/work-orders",
        json={"site": SITE, "number": "WO-B", "product": "BREAD", "qty": "6", "status": "released"},
    )
    assert response.status_code == 201, response.text
    materials = await seeded.client.get(f"{API}/work-orders/{response.json()['id']}/materials")
    (line,) = materials.json()["items"]
    older = (now - timedelta(days=2)).date() + timedelta(days=3)
    newer = now.date() + timedelta(days=3)
    assert [(lp["lp"], lp["qty"], lp["expiry"]) for lp in line["lps"]] == [
        ("D-OLD", "5", older.isoformat()),  # first expiry first, though made second
        ("D-NEW", "1", newer.isoformat()),
    ]


async def test_an_expired_receipt_is_taken_in_on_hold(seeded: Central) -> None:
    await product(seeded, "MILK", "raw", 10)
    now = datetime.now(UTC)
    yesterday = (now - timedelta(days=1)).date()
    env = seeded.env(
        "lp.receive",
        {
            "item": "MILK",
            "qty": "10",
            "uom": "kg",
            "location": "RECV",
            "lp": "OLD-MILK",
            "expiry": yesterday.isoformat(),
        },
    )
    ack = await seeded.send_one(env)
    assert (ack.result, ack.code) == (AckResult.APPLIED, "EXPIRED_ON_RECEIPT")
    assert ack.message is not None and "on quality hold" in ack.message
    lp = (await seeded.client.get(f"{API}/license-plates/OLD-MILK")).json()
    assert (lp["status"], lp["qty"]) == ("on_hold", "10")  # nothing that arrived is refused
    holds = (await seeded.client.get(f"{API}/quality/holds", params={"lp": "OLD-MILK"})).json()
    (held,) = holds["items"]
    assert (held["reason"], held["status"], held["hold_cause"], held["held_by"]) == (
        "EXPIRED_ON_RECEIPT",
        "active",
        env["id"],
        "op-1",
    )
    assert await seeded.rows("SELECT kind FROM stock_moves") == [("RECEIPT",)]
    # held: not consumable
    consume = seeded.env("lp.consume", {"lp": "OLD-MILK", "work_order": "WO-1001", "qty": "1"})
    conflicted = await seeded.send_one(consume)
    assert (conflicted.result, conflicted.code) == (AckResult.CONFLICT, "LP_ON_HOLD")
    # released the normal way: the LP is available again, but still expired, so it is not
    # available stock
    released = await seeded.client.post(
        f"{API}/quality/holds/{held['id']}/release", json={"reason": "sold for animal feed"}
    )
    assert released.status_code == 200, released.text
    assert released.json()["lps"] == ["OLD-MILK"]
    (row,) = (
        await seeded.client.get(f"{API}/inventory/available", params={"product": "MILK"})
    ).json()["items"]
    assert (row["on_hand"], row["expired"], row["available"]) == ("10", "10", "0")
    # the conflict is resolved by a supervisor: apply anyway, with a reason
    resolved = await seeded.client.post(
        f"{API}/conflicts/{conflicted.conflict_id}/resolve",
        json={"resolution": "apply", "reason": "used for the trial batch"},
    )
    assert resolved.status_code == 200, resolved.text
    assert (await seeded.client.get(f"{API}/license-plates/OLD-MILK")).json()["qty"] == "9"


async def test_a_late_replay_is_judged_on_its_receipt_day(seeded: Central) -> None:
    await product(seeded, "MILK", "raw", 10)
    now = datetime.now(UTC)
    ack = await received(
        seeded,
        "LATE",
        "MILK",
        now - timedelta(days=3),
        expiry=(now - timedelta(days=1)).date().isoformat(),
    )
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)  # good on the day it arrived
    assert await seeded.count("quality_holds") == 0


async def test_each_part_is_excluded_for_one_reason_held_then_expired_then_reserved(
    seeded: Central,
) -> None:
    await product(seeded, "MILK", "raw", 10)
    now = datetime.now(UTC)
    stale = (now - timedelta(days=1)).date().isoformat()
    for number in ("OLD", "HELD-OLD"):  # good on arrival three days ago, expired since
        ack = await received(seeded, number, "MILK", now - timedelta(days=3), expiry=stale)
        assert ack.result == AckResult.APPLIED
    assert (await received(seeded, "FRESH", "MILK", now)).result == AckResult.APPLIED
    async with seeded.engine.begin() as conn:  # 4 of each reserved, as a release left it
        await conn.execute(
            text(
                "INSERT INTO work_order_materials (work_order_id, line, component_id, qty_per, "
                "scrap_factor, consume_whole_lp, qty_required) SELECT w.id, 1, p.id, 1000000, "
                "0, false, 12000000 FROM work_orders w, products p WHERE p.code = 'MILK'"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO reservations (site, work_order_id, material_id, lp_id, qty, status, "
                "created_at) SELECT l.site, m.work_order_id, m.id, l.id, 4000000, 'active', "
                "l.created_at FROM work_order_materials m, license_plates l"
            )
        )
    hold = seeded.env("qc.hold", {"lp": "HELD-OLD", "reason": "smell"})
    assert (await seeded.send_one(hold)).result == AckResult.APPLIED
    (row,) = (
        await seeded.client.get(f"{API}/inventory/available", params={"product": "MILK"})
    ).json()["items"]
    assert {k: row[k] for k in ("on_hand", "on_hold", "expired", "reserved", "available")} == {
        "on_hand": "30",
        "on_hold": "10",  # HELD-OLD: held (and expired, and reserved): counted once, as held
        "expired": "10",  # OLD: expired (and reserved)
        "reserved": "4",  # FRESH: 4 of 10
        "available": "6",
    }

"""A planned work order edited (PATCH), a planned or released one cancelled with a reason
(its reservations given back, audited), and a cancelled one refusing floor actions with
WO_CANCELLED until a supervisor applies them anyway."""

from decimal import Decimal
from typing import Any

import httpx
import pytest

from protocol import AckResult
from tests.central.conftest import SITE, Central
from tests.central.production.test_reservations import add_bom, add_wo, receive, reserved

API = "/api/v1"


async def audit(c: Central, action: str) -> list[tuple[Any, ...]]:
    return await c.rows(
        "SELECT id, target, details FROM audit_log WHERE action = :a ORDER BY at", a=action
    )


async def test_a_planned_order_is_edited_and_its_materials_follow(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "2", "0.1")])
    wo = await add_wo(seeded, "WO-E", "10", due_date="2026-12-24")
    edited = await seeded.client.patch(
        f"{API}/work-orders/{wo['id']}", json={"qty_planned": "5", "due_date": "2027-01-08"}
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["qty_planned"], edited.json()["due_date"]) == ("5", "2027-01-08")
    (material,) = (await seeded.client.get(f"{API}/work-orders/{wo['id']}/materials")).json()[
        "items"
    ]
    assert material["required"] == "11"  # 5 x 2 x 1.1
    ((_, target, details),) = await audit(seeded, "wo.edit")
    assert target == "WO-E"
    assert "qty_planned" in str(details) and "2027-01-08" in str(details)
    # only the due date, then clearing it; `qty` is accepted for the quantity
    cleared = await seeded.client.patch(f"{API}/work-orders/{wo['id']}", json={"due_date": None})
    assert cleared.status_code == 200 and cleared.json()["due_date"] is None
    assert cleared.json()["qty_planned"] == "5"
    again = await seeded.client.patch(f"{API}/work-orders/{wo['id']}", json={"qty": "1"})
    assert again.json()["qty_planned"] == "1"
    # the edited quantity is what release reserves
    await receive(seeded, "R-1", "10")
    released = await seeded.client.post(f"{API}/work-orders/{wo['id']}/release")
    assert released.status_code == 200
    assert await reserved(seeded, wo["id"]) == [("R-1", Decimal("2.2"), "active")]


@pytest.mark.parametrize(
    "body", [{}, {"qty_planned": "0"}, {"qty_planned": None}, {"status": "closed"}]
)
async def test_an_edit_must_name_something_valid(seeded: Central, body: dict[str, Any]) -> None:
    wo = await add_wo(seeded, "WO-E", "10")
    answer = await seeded.client.patch(f"{API}/work-orders/{wo['id']}", json=body)
    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"
    assert await audit(seeded, "wo.edit") == []


async def test_only_a_planned_order_is_edited(seeded: Central) -> None:
    (row,) = await seeded.rows("SELECT id FROM work_orders WHERE number = 'WO-1001'")
    answer = await seeded.client.patch(f"{API}/work-orders/{row[0]}", json={"qty": "1"})
    assert answer.status_code == 409
    assert answer.json() == {
        "code": "WO_NOT_EDITABLE",
        "message": "Work order WO-1001 is released; only a planned work order can be edited",
        "details": {"work_order": "WO-1001", "status": "released"},
    }
    missing = await seeded.client.patch(f"{API}/work-orders/999999", json={"qty": "1"})
    assert missing.status_code == 404


async def test_cancelling_gives_back_every_reservation(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await receive(seeded, "R-1", "4")
    await receive(seeded, "R-2", "4")
    wo = await add_wo(seeded, "WO-X", "6", status="released")
    planned = await add_wo(seeded, "WO-P", "1")
    answer = await seeded.client.post(
        f"{API}/work-orders/{wo['id']}/cancel", json={"reason": "customer cancelled"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["cancel_reason"]) == ("cancelled", "customer cancelled")
    assert body["cancelled_at"] is not None
    assert await reserved(seeded, wo["id"]) == [
        ("R-1", Decimal(4), "released"),
        ("R-2", Decimal(2), "released"),
    ]
    ((entry, target, details),) = await audit(seeded, "wo.cancel")
    assert target == "WO-X" and "customer cancelled" in str(details)
    assert await seeded.rows(
        "SELECT kind, qty, cause FROM stock_moves WHERE action_id = :a ORDER BY id", a=entry
    ) == [("RELEASE", -4_000_000, "api"), ("RELEASE", -2_000_000, "api")]
    (row,) = (await seeded.client.get(f"{API}/inventory/available")).json()["items"]
    assert (row["reserved"], row["available"]) == ("0", "8")
    # a planned order is cancelled too (nothing to give back)
    answer = await seeded.client.post(
        f"{API}/work-orders/{planned['id']}/cancel", json={"reason": "not needed"}
    )
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    listed = await seeded.client.get(f"{API}/work-orders", params={"status": "cancelled"})
    assert sorted(w["number"] for w in listed.json()["items"]) == ["WO-P", "WO-X"]


@pytest.mark.parametrize("steps", [["start"], ["complete"], ["complete", "close"], ["cancel"]])
async def test_cancel_is_refused_once_the_order_ran(seeded: Central, steps: list[str]) -> None:
    wo = await add_wo(seeded, "WO-R", "1", status="released")
    for step in steps:
        extra = {"json": {"reason": "first"}} if step == "cancel" else {}
        assert (
            await seeded.client.post(f"{API}/work-orders/{wo['id']}/{step}", **extra)
        ).is_success
    status = (await seeded.client.get(f"{API}/work-orders/{wo['id']}")).json()["status"]
    answer = await seeded.client.post(
        f"{API}/work-orders/{wo['id']}/cancel", json={"reason": "too late"}
    )
    assert answer.status_code == 409
    assert answer.json() == {
        "code": "WO_BAD_TRANSITION",
        "message": f"Work order WO-R is {status}; it cannot be cancelled",
        "details": {"work_order": "WO-R", "from": status, "to": "cancelled"},
    }
    assert len(await audit(seeded, "wo.cancel")) == (1 if steps == ["cancel"] else 0)


async def test_cancel_needs_a_reason(seeded: Central) -> None:
    wo = await add_wo(seeded, "WO-R", "1")
    for body in ({}, {"reason": ""}):
        answer = await seeded.client.post(f"{API}/work-orders/{wo['id']}/cancel", json=body)
        assert answer.status_code == 422
    assert (await seeded.client.get(f"{API}/work-orders/{wo['id']}")).json()["status"] == "planned"


FLOOR = [
    ("lp.consume", {"lp": "R-1", "work_order": "WO-X", "qty": "1"}),
    ("wo.output", {"work_order": "WO-X", "qty": "2", "location": "A-01", "lp": "OUT-1"}),
    ("wo.start", {"work_order": "WO-X"}),
    ("wo.complete", {"work_order": "WO-X"}),
]


@pytest.mark.parametrize(("type", "body"), FLOOR, ids=[t for t, _ in FLOOR])
async def test_a_cancelled_order_refuses_the_floor_until_applied_anyway(
    seeded: Central, type: str, body: dict[str, Any]
) -> None:
    await receive(seeded, "R-1", "5")
    wo = await add_wo(seeded, "WO-X", "3", status="released")
    cancelled = await seeded.client.post(
        f"{API}/work-orders/{wo['id']}/cancel", json={"reason": "line down"}
    )
    assert cancelled.status_code == 200
    before = await seeded.count("stock_moves")
    ack = await seeded.send_one(seeded.env(type, body))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "WO_CANCELLED")
    assert ack.message == (
        "Work order WO-X is cancelled; it takes no more material, output or steps"
    )
    assert await seeded.count("stock_moves") == before
    # the floor did it anyway (material used, output made): a supervisor books it; the order
    # stays cancelled
    resolved = await seeded.client.post(
        f"{API}/conflicts/{ack.conflict_id}/resolve",
        json={"resolution": "apply", "reason": "it was made before the stop"},
    )
    assert resolved.status_code == 200, resolved.text
    assert (await seeded.client.get(f"{API}/work-orders/{wo['id']}")).json()["status"] == (
        "cancelled"
    )
    kinds = [
        kind
        for (kind,) in await seeded.rows(
            "SELECT kind FROM stock_moves WHERE action_id = :a",
            a=resolved.json()["conflict"]["resolution_cause"],
        )
    ]
    assert kinds == {"lp.consume": ["CONSUME"], "wo.output": ["PRODUCE"]}.get(type, [])
    if type in ("wo.start", "wo.complete"):
        assert resolved.json()["message"] == "Work order WO-X is already cancelled; nothing changed"


async def test_planning_edits_and_cancels_within_its_sites(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    planning = await seeded.bearer("plan", ["planning"], [SITE])
    production = await seeded.bearer("prod", ["production"], [SITE])
    elsewhere = await seeded.bearer("plan-2", ["planning"], ["plant-2"])
    wo = await add_wo(seeded, "WO-G", "2")
    url = f"{API}/work-orders/{wo['id']}"
    for headers, status in ((production, 403), (elsewhere, 404), (planning, 200)):
        edited = await guarded.patch(url, json={"qty": "3"}, headers=headers)
        assert edited.status_code == status, edited.text
    for headers, status in ((production, 403), (elsewhere, 404), (planning, 200)):
        cancelled = await guarded.post(f"{url}/cancel", json={"reason": "x"}, headers=headers)
        assert cancelled.status_code == status, cancelled.text
    assert await seeded.rows(
        "SELECT action, actor FROM audit_log WHERE target = 'WO-G' ORDER BY at"
    ) == [("wo.create", "anonymous"), ("wo.edit", "plan"), ("wo.cancel", "plan")]

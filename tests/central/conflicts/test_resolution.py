"""Conflict resolution: apply anyway, apply with changes, void; audited, with ledger effects."""

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text

from protocol import AckResult
from protocol.types import format_qty
from tests.central.conftest import SITE, Central

API = "/api/v1"


async def conflict_of(c: Central, type: str, body: dict[str, Any], code: str) -> tuple[int, str]:
    """Send an action that must conflict with ``code``; answers (conflict id, action id)."""
    env = c.env(type, body)
    ack = await c.send_one(env)
    assert (ack.result, ack.code) == (AckResult.CONFLICT, code), ack
    assert ack.conflict_id is not None
    return ack.conflict_id, env["id"]


async def resolve(
    c: Central, conflict_id: int, resolution: str, reason: str = "checked", **extra: Any
) -> httpx.Response:
    return await c.client.post(
        f"{API}/conflicts/{conflict_id}/resolve",
        json={"resolution": resolution, "reason": reason, **extra},
    )


async def ledger(c: Central, action_id: str) -> list[tuple[Any, ...]]:
    """(LP, kind, qty as decimal text, cause) of the rows an action or API call caused."""
    rows = await c.rows(
        "SELECT p.number, m.kind, m.qty, m.cause FROM stock_moves m "
        "JOIN license_plates p ON p.id = m.lp_id WHERE m.action_id = :a "
        "ORDER BY m.id",
        a=action_id,
    )
    return [(lp, kind, format_qty(Decimal(qty) / 10**6), cause) for lp, kind, qty, cause in rows]


async def audited(c: Central) -> int:
    """Resolutions in the audit log."""
    return len(await c.rows("SELECT id FROM audit_log WHERE action = 'conflict.resolve'"))


async def hold(c: Central, number: str) -> None:
    async with c.engine.begin() as conn:
        await conn.execute(
            text("UPDATE license_plates SET status = 'on_hold' WHERE number = :n"), {"n": number}
        )


async def test_apply_forces_a_consume_of_a_held_lp(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    await hold(seeded, "LP-1")
    conflict_id, action_id = await conflict_of(
        seeded, "lp.consume", {"lp": "LP-1", "work_order": "WO-1001", "qty": "4"}, "LP_ON_HOLD"
    )

    answer = await resolve(seeded, conflict_id, "apply", reason="QA cleared it by phone")
    assert answer.status_code == 200, answer.text
    result = answer.json()
    (entry,) = await seeded.rows(
        "SELECT id, actor, action, target, site FROM audit_log WHERE action = 'conflict.resolve'"
    )
    entry_id = entry[0]
    assert entry[1:] == ("anonymous", "conflict.resolve", f"conflict/{conflict_id}", SITE)
    assert await ledger(seeded, entry_id) == [("LP-1", "CONSUME", "-4", "api")]
    assert await ledger(seeded, action_id) == []  # the floor action itself wrote nothing
    assert result["stock_moves"] == [
        r[0]
        for r in await seeded.rows("SELECT id FROM stock_moves WHERE action_id = :a", a=entry_id)
    ]
    assert "consumed into WO-1001" in result["message"]
    conflict = result["conflict"]
    assert (conflict["status"], conflict["resolution"], conflict["resolution_reason"]) == (
        "resolved",
        "apply",
        "QA cleared it by phone",
    )
    assert (conflict["resolved_by"], conflict["resolution_cause"]) == ("anonymous", entry_id)
    assert conflict["action_id"] == action_id and conflict["resolution_body"] is None
    assert await seeded.rows("SELECT qty, status FROM license_plates WHERE number = 'LP-1'") == [
        (6 * 10**6, "on_hold")
    ]
    shown = (await seeded.client.get(f"{API}/conflicts/{conflict_id}")).json()
    assert shown["status"] == "resolved" and shown["resolved_at"] is not None
    audit = (await seeded.client.get(f"{API}/audit", params={"action": "conflict.resolve"})).json()
    details = audit["items"][0]["details"]
    assert (details["action_id"], details["resolution"]) == (action_id, "apply")


async def test_apply_books_a_shortfall_as_a_correction(seeded: Central) -> None:
    await seeded.receive("LP-1", "5")
    conflict_id, _ = await conflict_of(
        seeded,
        "lp.consume",
        {"lp": "LP-1", "work_order": "WO-1001", "qty": "7.5"},
        "QTY_EXCEEDS_LP",
    )
    answer = await resolve(seeded, conflict_id, "apply", reason="scale was off")
    assert answer.status_code == 200, answer.text
    entry_id = answer.json()["conflict"]["resolution_cause"]
    assert await ledger(seeded, entry_id) == [
        ("LP-1", "CORRECTION", "2.5", "api"),
        ("LP-1", "CONSUME", "-7.5", "api"),
    ]
    assert await seeded.rows("SELECT qty, status FROM license_plates WHERE number = 'LP-1'") == [
        (0, "consumed")
    ]
    assert (await seeded.client.get(f"{API}/inventory/check")).json()["ok"] is True


async def test_apply_with_changes_consumes_the_right_lp(seeded: Central) -> None:
    await seeded.receive("LP-RIGHT", "10")
    conflict_id, action_id = await conflict_of(
        seeded,
        "lp.consume",
        {"lp": "LP-WRONG", "work_order": "WO-1001", "qty": "3"},
        "LP_NOT_FOUND",
    )
    changed = {"lp": "LP-RIGHT", "work_order": "WO-1001", "qty": "3"}
    answer = await resolve(
        seeded,
        conflict_id,
        "apply_with_changes",
        reason="operator scanned the wrong label",
        body=changed,
    )
    assert answer.status_code == 200, answer.text
    conflict = answer.json()["conflict"]
    assert conflict["resolution_body"] == changed and conflict["status"] == "resolved"
    assert conflict["envelope"]["body"]["lp"] == "LP-WRONG"  # the original stays as sent
    assert await ledger(seeded, conflict["resolution_cause"]) == [
        ("LP-RIGHT", "CONSUME", "-3", "api")
    ]
    moves = (
        await seeded.client.get(
            f"{API}/stock-moves", params={"action_id": conflict["resolution_cause"]}
        )
    ).json()
    assert [(m["lp"], m["cause"]) for m in moves["items"]] == [("LP-RIGHT", "api")]
    assert await ledger(seeded, action_id) == []


async def test_apply_with_changes_validates_the_body(seeded: Central) -> None:
    conflict_id, _ = await conflict_of(
        seeded, "lp.consume", {"lp": "LP-WRONG", "work_order": "WO-1001"}, "LP_NOT_FOUND"
    )
    bad = await resolve(
        seeded,
        conflict_id,
        "apply_with_changes",
        body={"lp": "LP-1", "work_order": "WO-1001", "qty": 3},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "BODY_INVALID"
    assert "qty" in bad.json()["message"]
    missing = await resolve(seeded, conflict_id, "apply_with_changes")
    assert missing.status_code == 422 and missing.json()["code"] == "BODY_REQUIRED"
    no_reason = await resolve(seeded, conflict_id, "void", reason="")
    assert no_reason.status_code == 422
    assert await audited(seeded) == 0
    assert await seeded.rows("SELECT status FROM conflicts") == [("open",)]


async def test_void_writes_nothing_to_the_ledger_and_cannot_be_resolved_again(
    seeded: Central,
) -> None:
    await seeded.receive("LP-1", "10")
    await hold(seeded, "LP-1")
    conflict_id, _ = await conflict_of(
        seeded, "lp.consume", {"lp": "LP-1", "work_order": "WO-1001"}, "LP_ON_HOLD"
    )
    before = await seeded.count("stock_moves")
    answer = await resolve(seeded, conflict_id, "void", reason="duplicate scan")
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["conflict"]["status"], result["stock_moves"]) == ("voided", [])
    assert await seeded.count("stock_moves") == before
    again = await resolve(seeded, conflict_id, "apply")
    assert again.status_code == 409 and again.json()["code"] == "CONFLICT_NOT_OPEN"
    assert await audited(seeded) == 1
    listed = (await seeded.client.get(f"{API}/conflicts", params={"status": "voided"})).json()
    assert [c["id"] for c in listed["items"]] == [conflict_id]


async def test_a_hard_failure_leaves_the_conflict_open_and_the_ledger_untouched(
    seeded: Central,
) -> None:
    conflict_id, _ = await conflict_of(
        seeded, "lp.move", {"lp": "LP-GHOST", "to_location": "A-01"}, "LP_NOT_FOUND"
    )
    before = await seeded.count("stock_moves")
    answer = await resolve(seeded, conflict_id, "apply", reason="move it anyway")
    assert answer.status_code == 409, answer.text
    error = answer.json()
    assert error["code"] == "RESOLUTION_FAILED"
    assert error["details"]["conflict_code"] == "LP_NOT_FOUND"
    assert "apply_with_changes" in error["message"] and "void" in error["message"]
    assert await seeded.count("stock_moves") == before
    assert await audited(seeded) == 0
    assert await seeded.rows("SELECT status, resolution FROM conflicts") == [("open", None)]


async def test_apply_receives_once_the_product_exists(seeded: Central) -> None:
    conflict_id, _ = await conflict_of(
        seeded,
        "lp.receive",
        {"item": "NEW-1", "qty": "2", "uom": "kg", "location": "RECV", "lp": "LP-N"},
        "PRODUCT_NOT_FOUND",
    )
    failed = await resolve(seeded, conflict_id, "apply")
    assert failed.json()["details"]["conflict_code"] == "PRODUCT_NOT_FOUND"
    made = await seeded.client.post(
        f"{API}/products", json={"site": SITE, "code": "NEW-1", "name": "New", "uom": "kg"}
    )
    assert made.status_code == 201, made.text
    answer = await resolve(seeded, conflict_id, "apply", reason="product created")
    assert answer.status_code == 200, answer.text
    entry_id = answer.json()["conflict"]["resolution_cause"]
    assert await ledger(seeded, entry_id) == [("LP-N", "RECEIPT", "2", "api")]
    assert await seeded.rows(
        "SELECT created_by_action FROM license_plates WHERE number = 'LP-N'"
    ) == [(entry_id,)]


async def test_only_supervisors_of_the_site_resolve(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    conflict_id, _ = await conflict_of(
        seeded, "lp.move", {"lp": "LP-GHOST", "to_location": "A-01"}, "LP_NOT_FOUND"
    )
    url = f"{API}/conflicts/{conflict_id}/resolve"
    decision = {"resolution": "void", "reason": "ghost label"}
    tech = await seeded.bearer("tech-1", ["technical"], [SITE])
    refused = await guarded.post(url, json=decision, headers=tech)
    assert refused.status_code == 403 and refused.json()["code"] == "ROLE_REQUIRED"
    elsewhere = await seeded.bearer("wh-2", ["warehouse"], ["plant-2"])
    refused = await guarded.post(url, json=decision, headers=elsewhere)
    missing = await guarded.post(
        f"{API}/conflicts/{conflict_id + 1000}/resolve", json=decision, headers=elsewhere
    )
    assert refused.status_code == missing.status_code == 404  # as if it did not exist
    assert refused.json() == {
        **missing.json(),
        "message": f"conflict {conflict_id} does not exist",
        "details": {"conflict_id": conflict_id},
    }
    hidden = await guarded.get(f"{API}/conflicts", headers=elsewhere)
    assert hidden.status_code == 200 and hidden.json()["items"] == []
    assert (
        await guarded.get(f"{API}/conflicts/{conflict_id}", headers=elsewhere)
    ).status_code == 404
    assert await seeded.rows("SELECT status FROM conflicts") == [("open",)]

    supervisor = await seeded.bearer("wh-1", ["warehouse"], [SITE])
    done = await guarded.post(url, json=decision, headers=supervisor)
    assert done.status_code == 200, done.text
    assert done.json()["conflict"]["resolved_by"] == "wh-1"
    assert await seeded.rows("SELECT actor FROM audit_log WHERE action = 'conflict.resolve'") == [
        ("wh-1",)
    ]

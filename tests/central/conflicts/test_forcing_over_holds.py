"""Forcing an action over a quality hold is quality's decision: a supervisor without the quality
role is refused (403 QUALITY_ROLE_REQUIRED) and nothing is written; with it (or as an admin)
the action applies, the hold stays active, and the audit entry names the holds overruled."""

from typing import Any

import httpx
import pytest

from protocol import AckResult
from tests.central.conftest import ADMIN_TOKEN, SITE, Central

API = "/api/v1"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def floor(c: Central, type: str, body: dict[str, Any]) -> tuple[AckResult, str | None]:
    """Send one action from the floor; answers (result, code)."""
    ack = await c.send_one(c.env(type, body))
    return ack.result, ack.code


async def conflict(c: Central, type: str, body: dict[str, Any], code: str) -> int:
    """Send an action that must become a conflict with ``code``; answers the conflict id."""
    ack = await c.send_one(c.env(type, body))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, code), ack
    assert ack.conflict_id is not None
    return ack.conflict_id


async def hold_ids(c: Central) -> list[int]:
    """Ids of the active holds."""
    return [r[0] for r in await c.rows("SELECT id FROM quality_holds WHERE status = 'active'")]


async def state(c: Central) -> dict[str, Any]:
    """Everything a refused resolution must leave as it was."""
    return {
        "ledger": await c.rows("SELECT id, lp_id, kind, qty, action_id FROM stock_moves"),
        "lps": await c.rows(
            "SELECT number, qty, status, location_id, parent_lp_id FROM license_plates "
            "ORDER BY number"
        ),
        "holds": await c.rows("SELECT * FROM quality_holds ORDER BY id"),
        "conflicts": await c.rows("SELECT id, status, resolution FROM conflicts ORDER BY id"),
        "resolutions": await c.rows("SELECT id FROM audit_log WHERE action = 'conflict.resolve'"),
        "wo": await c.rows("SELECT status, qty_produced FROM work_orders ORDER BY id"),
    }


async def resolve(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    conflict_id: int,
    resolution: str = "apply",
    **extra: Any,
) -> httpx.Response:
    """POST a resolution with a reason."""
    return await client.post(
        f"{API}/conflicts/{conflict_id}/resolve",
        json={"resolution": resolution, "reason": "line is waiting", **extra},
        headers=headers,
    )


async def test_a_supervisor_without_quality_cannot_force_a_consume_of_a_held_lp(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    """The attack: a warehouse supervisor forces a consume of an LP quality holds."""
    await seeded.receive("LP-1", "10")
    qa = await seeded.bearer("qa-1", ["quality"], [SITE])
    held = await guarded.post(
        f"{API}/quality/holds",
        json={"site": SITE, "lp": "LP-1", "reason": "swab positive"},
        headers=qa,
    )
    assert held.status_code == 201, held.text
    hold_id = held.json()["hold"]["id"]
    body = {"lp": "LP-1", "work_order": "WO-1001", "qty": "4"}
    conflict_id = await conflict(seeded, "lp.consume", body, "LP_ON_HOLD")
    before = await state(seeded)

    supervisor = await seeded.bearer("wh-1", ["warehouse", "production"], [SITE])
    refused = await resolve(guarded, supervisor, conflict_id)
    assert refused.status_code == 403, refused.text
    assert refused.json() == {
        "code": "QUALITY_ROLE_REQUIRED",
        "message": f"applying this action anyway goes over the quality hold on LP LP-1 "
        f"(hold {hold_id}); only the quality role may do that. wh-1 can void it, or quality "
        "can release the hold or resolve the conflict",
        "details": {
            "conflict_id": conflict_id,
            "holds": [hold_id],
            "lps": ["LP-1"],
            "needs": ["quality"],
            "has": ["production", "warehouse"],
        },
    }
    # With changes the action runs with every check: the hold refuses it all the same.
    changed = await resolve(guarded, supervisor, conflict_id, "apply_with_changes", body=body)
    assert changed.status_code == 409, changed.text
    assert (changed.json()["code"], changed.json()["details"]["conflict_code"]) == (
        "RESOLUTION_FAILED",
        "LP_ON_HOLD",
    )
    assert await state(seeded) == before  # ledger, LP, hold, conflict, audit: all unchanged
    assert await seeded.rows(
        "SELECT kind, subject, count FROM security_events WHERE kind = 'TOKEN_MISUSE'"
    ) == [("TOKEN_MISUSE", "wh-1", 1)]

    done = await resolve(guarded, qa, conflict_id)
    assert done.status_code == 200, done.text
    answer = done.json()
    assert answer["over_holds"] == [hold_id]
    assert answer["conflict"]["resolved_by"] == "qa-1"
    entry = answer["conflict"]["resolution_cause"]
    booked = await seeded.rows("SELECT kind, qty FROM stock_moves WHERE action_id = :e", e=entry)
    assert booked == [("CONSUME", -4_000_000)]
    # The hold stays: the LP is still on hold with what is left, the hold row untouched.
    assert await seeded.rows("SELECT qty, status FROM license_plates WHERE number = 'LP-1'") == [
        (6_000_000, "on_hold")
    ]
    assert await seeded.rows("SELECT * FROM quality_holds ORDER BY id") == before["holds"]
    audit = await guarded.get(f"{API}/audit", params={"action": "conflict.resolve"}, headers=qa)
    details = audit.json()["items"][0]["details"]
    assert (details["over_holds"], details["held_lps"]) == ([hold_id], ["LP-1"])


async def test_an_admin_may_force_over_a_lot_hold(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    await seeded.receive("LP-1", "10", lot="L7")
    assert await floor(seeded, "qc.hold", {"lot": "L7", "reason": "recall"}) == (
        AckResult.APPLIED,
        None,
    )
    conflict_id = await conflict(
        seeded, "lp.consume", {"lp": "LP-1", "work_order": "WO-1001"}, "LP_ON_HOLD"
    )
    done = await resolve(guarded, ADMIN, conflict_id)
    assert done.status_code == 200, done.text
    assert done.json()["over_holds"] == await hold_ids(seeded)
    assert await seeded.rows("SELECT status FROM quality_holds") == [("active",)]
    assert await seeded.rows("SELECT qty, status FROM license_plates") == [(0, "consumed")]


async def _consume(c: Central) -> tuple[str, dict[str, Any], list[str]]:
    await c.receive("LP-1", "10")
    await floor(c, "qc.hold", {"lp": "LP-1", "reason": "swab"})
    return "lp.consume", {"lp": "LP-1", "work_order": "WO-1001", "qty": "1"}, ["LP-1"]


async def _split_of_a_held_lot(c: Central) -> tuple[str, dict[str, Any], list[str]]:
    await c.receive("LP-1", "10", lot="L1")
    await floor(c, "qc.hold", {"lot": "L1", "item": "RAW-1", "reason": "recall"})
    return "lp.split", {"lp": "LP-1", "qty": "3", "new_lp": "LP-2"}, ["LP-1"]


async def _merge_into_a_held_lp(c: Central) -> tuple[str, dict[str, Any], list[str]]:
    made = await c.client.post(
        f"{API}/products",
        json={"site": SITE, "code": "MIX-1", "name": "Mix", "uom": "kg", "allow_merge": True},
    )
    assert made.status_code == 201, made.text
    await c.receive("LP-1", "4", item="MIX-1")
    await c.receive("LP-2", "6", item="MIX-1")
    await floor(c, "qc.hold", {"lp": "LP-2", "reason": "swab"})
    return "lp.merge", {"lp": "LP-1", "into": "LP-2"}, ["LP-2"]


async def _pallet_with_a_held_carton_to_shipping(
    c: Central,
) -> tuple[str, dict[str, Any], list[str]]:
    await c.receive("PAL-1", "1", item="FG-1", uom="ea")
    await c.receive("C-1", "5")
    await c.receive("C-2", "5")
    for carton in ("C-1", "C-2"):
        assert (await floor(c, "lp.pack", {"lp": carton, "parent": "PAL-1"}))[0] == (
            AckResult.APPLIED
        )
    await floor(c, "qc.hold", {"lp": "C-2", "reason": "dented"})
    return "lp.move", {"lp": "PAL-1", "to_location": "SHIP-1"}, ["C-2"]


async def _carton_held_through_its_pallet_to_shipping(
    c: Central,
) -> tuple[str, dict[str, Any], list[str]]:
    await c.receive("PAL-1", "1", item="FG-1", uom="ea")
    await c.receive("C-1", "5")
    await floor(c, "lp.pack", {"lp": "C-1", "parent": "PAL-1"})
    await floor(c, "qc.hold", {"lp": "PAL-1", "reason": "wrap torn"})
    return "lp.move", {"lp": "C-1", "to_location": "SHIP-1"}, ["C-1"]


@pytest.mark.parametrize(
    "setup",
    [
        _consume,
        _split_of_a_held_lot,
        _merge_into_a_held_lp,
        _pallet_with_a_held_carton_to_shipping,
        _carton_held_through_its_pallet_to_shipping,
    ],
)
async def test_every_forced_action_over_a_hold_needs_quality(
    seeded: Central, guarded: httpx.AsyncClient, setup: Any
) -> None:
    type, body, held_lps = await setup(seeded)
    conflict_id = await conflict(seeded, type, body, "LP_ON_HOLD")
    holds = await hold_ids(seeded)
    before = await state(seeded)
    supervisor = await seeded.bearer("sup-1", ["production", "warehouse"], [SITE])
    refused = await resolve(guarded, supervisor, conflict_id)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "QUALITY_ROLE_REQUIRED"
    assert (refused.json()["details"]["holds"], refused.json()["details"]["lps"]) == (
        holds,
        held_lps,
    )
    assert await state(seeded) == before

    qa = await seeded.bearer("qa-1", ["quality"], [SITE])
    done = await resolve(guarded, qa, conflict_id)
    assert done.status_code == 200, done.text
    assert done.json()["over_holds"] == holds
    assert await seeded.rows("SELECT * FROM quality_holds ORDER BY id") == before["holds"]
    assert (await guarded.get(f"{API}/inventory/check", headers=qa)).json()["ok"] is True


async def test_the_applier_decides_not_the_conflict_code(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    """Whether a forced action goes over a hold is what the LP is now, not the code the
    conflict was stored with."""
    supervisor = await seeded.bearer("sup-1", ["warehouse"], [SITE])
    # Refused for quantity; the lot went on hold since: forcing it now goes over that hold.
    await seeded.receive("LP-1", "5", lot="L1")
    too_much = await conflict(
        seeded,
        "lp.consume",
        {"lp": "LP-1", "work_order": "WO-1001", "qty": "9"},
        "QTY_EXCEEDS_LP",
    )
    await floor(seeded, "qc.hold", {"lot": "L1", "reason": "recall"})
    refused = await resolve(guarded, supervisor, too_much)
    assert refused.status_code == 403 and refused.json()["details"]["holds"] == await hold_ids(
        seeded
    )
    # Refused for a hold that quality has released since: nothing to overrule any more.
    await seeded.receive("LP-2", "5")
    await floor(seeded, "qc.hold", {"lp": "LP-2", "reason": "swab"})
    was_held = await conflict(
        seeded, "lp.consume", {"lp": "LP-2", "work_order": "WO-1001"}, "LP_ON_HOLD"
    )
    await floor(seeded, "qc.release", {"lp": "LP-2", "reason": "lab cleared"})
    done = await resolve(guarded, supervisor, was_held)
    assert done.status_code == 200, done.text
    assert done.json()["over_holds"] == []
    # A held LP may move to quarantine without force: doing so overrules nothing.
    moved = await conflict(
        seeded, "lp.move", {"lp": "LP-1", "to_location": "QA-1"}, "LOCATION_NOT_FOUND"
    )
    made = await seeded.client.post(
        f"{API}/locations", json={"site": SITE, "code": "QA-1", "name": "Lab", "kind": "quality"}
    )
    assert made.status_code == 201, made.text
    done = await resolve(guarded, supervisor, moved)
    assert done.status_code == 200, done.text
    assert done.json()["over_holds"] == []
    assert await seeded.rows("SELECT status FROM license_plates WHERE number = 'LP-1'") == [
        ("on_hold",)
    ]


async def test_held_stock_merged_by_force_stays_held(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    await _merge_into_a_held_lp(seeded)  # LP-2 held; LP-3 is another LP of MIX-1
    await seeded.receive("LP-3", "1", item="MIX-1")
    conflict_id = await conflict(seeded, "lp.merge", {"lp": "LP-2", "into": "LP-3"}, "LP_ON_HOLD")
    done = await resolve(guarded, await seeded.bearer("qa-1", ["quality"], [SITE]), conflict_id)
    assert done.status_code == 200, done.text
    assert done.json()["message"] == (
        "LP LP-2 merged into LP LP-3: 7 kg now (LP LP-2 was on quality hold: so is it now)"
    )
    assert await seeded.rows(
        "SELECT number, qty, status FROM license_plates WHERE number IN ('LP-2', 'LP-3') "
        "ORDER BY number"
    ) == [("LP-2", 0, "consumed"), ("LP-3", 7_000_000, "on_hold")]
    # Nothing holds LP-3 itself: releasing it frees it.
    assert await floor(seeded, "qc.release", {"lp": "LP-3", "reason": "lab cleared"}) == (
        AckResult.APPLIED,
        None,
    )
    assert await seeded.rows("SELECT status FROM license_plates WHERE number = 'LP-3'") == [
        ("available",)
    ]

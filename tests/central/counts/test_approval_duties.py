"""Approving a count needs someone else: not who opened the session, not who recorded any of
its lines (on the floor, or through a conflict resolution), unless the approver is an admin."""

from typing import Any

import httpx

from protocol import AckResult
from tests.central.conftest import ADMIN_TOKEN, SITE, Central

API = "/api/v1"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def open_count(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """Open a full count of A-01 as the caller."""
    made = await client.post(
        f"{API}/counts",
        json={"site": SITE, "location": "A-01", "scope": "full"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return made.json()


def counted(c: Central, number: str, qty: str, location: str = "A-01") -> dict[str, Any]:
    """A count.record of LP-1 from the floor (operator op-1)."""
    return c.env(
        "count.record",
        {"session": number, "location": location, "lps": [{"lp": "LP-1", "qty": qty}]},
    )


async def approve(
    client: httpx.AsyncClient, headers: dict[str, str], session: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"{API}/counts/{session['id']}/approve", headers=headers)


async def untouched(c: Central) -> list[Any]:
    """What a refused approval must leave as it was."""
    return [
        await c.rows("SELECT id, kind, qty FROM stock_moves ORDER BY id"),
        await c.rows("SELECT number, qty, status FROM license_plates ORDER BY number"),
        await c.rows("SELECT status, approved_by, approval_cause FROM count_sessions"),
        await c.rows("SELECT id FROM audit_log WHERE action = 'count.approve'"),
    ]


async def test_whoever_opened_the_count_cannot_approve_it(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    await seeded.receive("LP-1", "10", location="A-01")
    opener = await seeded.bearer("store-1", ["warehouse"], [SITE])
    session = await open_count(guarded, opener)
    assert (await seeded.send_one(counted(seeded, session["number"], "7"))).result == (
        AckResult.APPLIED
    )
    before = await untouched(seeded)
    refused = await approve(guarded, opener, session)
    assert refused.status_code == 403, refused.text
    assert refused.json() == {
        "code": "COUNT_SELF_APPROVAL",
        "message": f"store-1 opened it: count {session['number']} must be approved by someone "
        "who neither opened it nor counted in it (or an admin)",
        "details": {
            "count": session["number"],
            "approver": "store-1",
            "opened_by": "store-1",
            "counted_by": ["op-1"],
        },
    }
    assert await untouched(seeded) == before
    manager = await seeded.bearer("store-2", ["warehouse"], [SITE])
    approved = await approve(guarded, manager, session)
    assert approved.status_code == 200, approved.text
    assert approved.json()["session"]["approved_by"] == "store-2"
    assert approved.json()["adjusted"] == [{"lp": "LP-1", "qty": "-3"}]


async def test_an_operator_who_counted_cannot_approve(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    """The floor operator op-1 also holds a warehouse token named op-1."""
    await seeded.receive("LP-1", "10", location="A-01")
    session = await open_count(guarded, await seeded.bearer("store-1", ["warehouse"], [SITE]))
    await seeded.send_one(counted(seeded, session["number"], "9"))
    counter = await seeded.bearer("op-1", ["warehouse"], [SITE])
    before = await untouched(seeded)
    refused = await approve(guarded, counter, session)
    assert refused.status_code == 403
    assert refused.json()["code"] == "COUNT_SELF_APPROVAL"
    assert refused.json()["message"].startswith("op-1 recorded lines of it: ")
    assert await untouched(seeded) == before


async def test_a_supervisor_whose_resolution_wrote_lines_cannot_approve(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    """A count sent for the wrong location is a conflict; the supervisor who applies it with
    changes (and could set any quantity) has counted, and may not approve."""
    await seeded.receive("LP-1", "10", location="A-01")
    session = await open_count(guarded, await seeded.bearer("store-1", ["warehouse"], [SITE]))
    ack = await seeded.send_one(counted(seeded, session["number"], "6", location="A-02"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "COUNT_WRONG_LOCATION")
    supervisor = await seeded.bearer("sup-1", ["warehouse", "production"], [SITE])
    url = f"{API}/conflicts/{ack.conflict_id}/resolve"
    forced = await guarded.post(
        url, json={"resolution": "apply", "reason": "count it anyway"}, headers=supervisor
    )
    assert forced.status_code == 409  # "apply anyway" never books a count at another location
    assert forced.json()["details"]["conflict_code"] == "COUNT_WRONG_LOCATION"
    changed = await guarded.post(
        url,
        json={
            "resolution": "apply_with_changes",
            "reason": "scanned at the wrong rack label",
            "body": {
                "session": session["number"],
                "location": "A-01",
                "lps": [{"lp": "LP-1", "qty": "2"}],
            },
        },
        headers=supervisor,
    )
    assert changed.status_code == 200, changed.text
    entry = changed.json()["conflict"]["resolution_cause"]
    assert await seeded.rows("SELECT operator, action_id FROM count_lines") == [("op-1", entry)]
    before = await untouched(seeded)
    refused = await approve(guarded, supervisor, session)
    assert refused.status_code == 403
    assert refused.json()["details"]["counted_by"] == ["op-1", "sup-1"]
    assert await untouched(seeded) == before
    other = await seeded.bearer("sup-2", ["warehouse"], [SITE])
    approved = await approve(guarded, other, session)
    assert approved.status_code == 200, approved.text
    assert approved.json()["adjusted"] == [{"lp": "LP-1", "qty": "-8"}]


async def test_an_admin_may_approve_a_count_they_opened(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    await seeded.receive("LP-1", "10", location="A-01")
    for headers, name in (
        (ADMIN, "admin"),
        (await seeded.bearer("boss", ["admin"], [SITE]), "boss"),
    ):
        session = await open_count(guarded, headers)
        assert session["created_by"] == name
        await seeded.send_one(counted(seeded, session["number"], "10"))
        approved = await approve(guarded, headers, session)
        assert approved.status_code == 200, approved.text
        assert approved.json()["session"]["approved_by"] == name

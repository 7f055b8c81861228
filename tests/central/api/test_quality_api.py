"""/quality/holds over REST: the same holds as the floor's, audited, role- and site-guarded."""

import httpx

from protocol import AckResult
from tests.central.conftest import SITE, Central

API = "/api/v1"


async def lp_status(central: Central, number: str) -> str:
    """An LP's status."""
    return (await central.client.get(f"{API}/license-plates/{number}")).json()["status"]


async def test_hold_and_release_an_lp(seeded: Central) -> None:
    await seeded.receive("LP-1", lot="L7")
    made = await seeded.client.post(
        f"{API}/quality/holds", json={"site": SITE, "lp": "LP-1", "reason": "label smudged"}
    )
    assert made.status_code == 201, made.text
    answer = made.json()
    assert answer["lps"] == ["LP-1"] and answer["message"] == "LP LP-1 is on hold"
    held = answer["hold"]
    assert {
        k: held[k]
        for k in ("site", "lp", "lot", "product", "reason", "status", "held_by", "released_at")
    } == {
        "site": SITE,
        "lp": "LP-1",
        "lot": None,
        "product": "RAW-1",
        "reason": "label smudged",
        "status": "active",
        "held_by": "anonymous",
        "released_at": None,
    }
    audit = await seeded.rows(
        "SELECT id, action, actor, site FROM audit_log WHERE action LIKE 'quality.%'"
    )
    assert audit == [(held["hold_cause"], "quality.hold", "anonymous", SITE)]
    assert await lp_status(seeded, "LP-1") == "on_hold"
    refused = await seeded.send_one(
        seeded.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001"})
    )
    assert refused.code == "LP_ON_HOLD"

    got = await seeded.client.get(f"{API}/quality/holds/{held['id']}")
    assert got.json() == held
    released = await seeded.client.post(
        f"{API}/quality/holds/{held['id']}/release", json={"reason": "relabelled"}
    )
    assert released.status_code == 200, released.text
    assert released.json()["lps"] == ["LP-1"]
    after = released.json()["hold"]
    assert (after["status"], after["released_by"], after["release_reason"]) == (
        "released",
        "anonymous",
        "relabelled",
    )
    assert (
        after["release_cause"]
        == (await seeded.rows("SELECT id FROM audit_log WHERE action = 'quality.release'"))[0][0]
    )
    assert await lp_status(seeded, "LP-1") == "available"
    again = await seeded.client.post(
        f"{API}/quality/holds/{held['id']}/release", json={"reason": "twice"}
    )
    assert again.status_code == 409 and again.json()["code"] == "HOLD_NOT_FOUND"
    missing = await seeded.client.post(f"{API}/quality/holds/999/release", json={"reason": "x"})
    assert missing.status_code == 404


async def test_lot_hold_via_api_and_release_via_action(seeded: Central) -> None:
    await seeded.receive("LP-1", lot="L7")
    await seeded.receive("LP-2", lot="L7")
    made = await seeded.client.post(
        f"{API}/quality/holds",
        json={"site": SITE, "lot": "L7", "item": "RAW-1", "reason": "supplier recall"},
    )
    assert made.status_code == 201
    assert made.json()["lps"] == ["LP-1", "LP-2"]
    assert made.json()["hold"]["product"] == "RAW-1" and made.json()["hold"]["lot"] == "L7"
    ack = await seeded.send_one(
        seeded.env("qc.release", {"lot": "L7", "item": "RAW-1", "reason": "recall withdrawn"})
    )
    assert ack.result == AckResult.APPLIED
    assert [await lp_status(seeded, n) for n in ("LP-1", "LP-2")] == ["available"] * 2
    listed = (await seeded.client.get(f"{API}/quality/holds", params={"lot": "L7"})).json()
    assert [(h["status"], h["released_by"]) for h in listed["items"]] == [("released", "op-1")]


async def test_bad_requests(seeded: Central) -> None:
    both = await seeded.client.post(
        f"{API}/quality/holds", json={"site": SITE, "lp": "LP-1", "lot": "L7", "reason": "x"}
    )
    assert both.status_code == 422 and both.json()["code"] == "VALIDATION_ERROR"
    unknown = await seeded.client.post(
        f"{API}/quality/holds", json={"site": SITE, "lp": "NOPE", "reason": "x"}
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "LP_NOT_FOUND"
    assert await seeded.count("quality_holds") == 0
    assert await seeded.rows("SELECT id FROM audit_log WHERE action LIKE 'quality.%'") == []


async def test_list_filters(seeded: Central) -> None:
    await seeded.receive("LP-1")
    await seeded.receive("LP-2", lot="L2")
    for body in ({"lp": "LP-1"}, {"lot": "L2"}):
        response = await seeded.client.post(
            f"{API}/quality/holds", json={"site": SITE, "reason": "r", **body}
        )
        assert response.status_code == 201
    first = (await seeded.client.get(f"{API}/quality/holds", params={"lp": "LP-1"})).json()
    await seeded.client.post(
        f"{API}/quality/holds/{first['items'][0]['id']}/release", json={"reason": "ok"}
    )
    active = (await seeded.client.get(f"{API}/quality/holds", params={"status": "active"})).json()[
        "items"
    ]
    assert [(h["lp"], h["lot"]) for h in active] == [(None, "L2")]
    every = (await seeded.client.get(f"{API}/quality/holds", params={"limit": 1})).json()
    assert len(every["items"]) == 1 and every["limit"] == 1
    other = (await seeded.client.get(f"{API}/quality/holds", params={"site": "plant-2"})).json()[
        "items"
    ]
    assert other == []


async def test_roles_and_sites(seeded: Central, guarded: httpx.AsyncClient) -> None:
    await seeded.receive("LP-1")
    production = await seeded.bearer("prod-1", ["production"], [SITE])
    quality = await seeded.bearer("qa-1", ["quality"], [SITE])
    elsewhere = await seeded.bearer("qa-2", ["quality"], ["plant-2"])
    body = {"site": SITE, "lp": "LP-1", "reason": "foreign body"}
    refused = await guarded.post(f"{API}/quality/holds", json=body, headers=production)
    assert refused.status_code == 403 and refused.json()["code"] == "ROLE_REQUIRED"
    wrong_site = await guarded.post(f"{API}/quality/holds", json=body, headers=elsewhere)
    assert wrong_site.status_code == 403 and wrong_site.json()["code"] == "SITE_FORBIDDEN"
    made = await guarded.post(f"{API}/quality/holds", json=body, headers=quality)
    assert made.status_code == 201 and made.json()["hold"]["held_by"] == "qa-1"
    hold_id = made.json()["hold"]["id"]
    # Production may read holds of its site; the other plant's quality token sees none.
    seen = await guarded.get(f"{API}/quality/holds", headers=production)
    assert [h["id"] for h in seen.json()["items"]] == [hold_id]
    assert (await guarded.get(f"{API}/quality/holds", headers=elsewhere)).json()["items"] == []
    hidden = await guarded.get(f"{API}/quality/holds/{hold_id}", headers=elsewhere)
    assert hidden.status_code == 404
    refused = await guarded.post(
        f"{API}/quality/holds/{hold_id}/release", json={"reason": "ok"}, headers=production
    )
    assert refused.status_code == 403
    assert await lp_status(seeded, "LP-1") == "on_hold"

"""Tokens cannot escalate: every attempt a limited admin could make, through the API."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from central.access.tokens import expiry_from
from central.errors import InvalidInput
from tests.central.conftest import SITE, Central

API = "/api/v1"
ROOT = {"Authorization": "Bearer root-token"}
OTHER = "plant-2"


async def made(client: httpx.AsyncClient, by: dict[str, str], **token: object) -> httpx.Response:
    """POST /tokens as ``by``."""
    return await client.post(f"{API}/tokens", headers=by, json=token)


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_a_site_admin_cannot_make_a_stronger_token(guarded: httpx.AsyncClient) -> None:
    site_admin = bearer(await made(guarded, ROOT, name="adm-1", roles=["admin"], sites=[SITE]))
    for attempt, needle in (
        ({"roles": ["admin"], "sites": ["*"]}, "every site"),
        ({"roles": ["admin"], "sites": [OTHER]}, OTHER),
        ({"roles": ["planning"], "sites": [SITE, OTHER]}, OTHER),
    ):
        refused = await made(guarded, site_admin, name="escalated", **attempt)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "TOKEN_ESCALATION" and needle in refused.json()["message"]
    listed = (await guarded.get(f"{API}/tokens", headers=ROOT)).json()
    assert [t["name"] for t in listed] == ["adm-1"]  # nothing was made
    # Within its reach it may: a planner, or another admin, of its own site.
    planner = await made(guarded, site_admin, name="plan-1", roles=["planning"], sites=[SITE])
    assert planner.status_code == 201 and planner.json()["sites"] == [SITE]
    deputy = await made(guarded, site_admin, name="adm-1b", roles=["admin"], sites=[SITE])
    assert deputy.status_code == 201
    # A global admin token may make global tokens.
    global_admin = bearer(await made(guarded, ROOT, name="adm-all", roles=["admin"], sites=["*"]))
    second = await made(guarded, global_admin, name="g2", roles=["quality"], sites=["*"])
    assert second.status_code == 201


async def test_a_plant_admin_sees_and_revokes_only_its_plant(guarded: httpx.AsyncClient) -> None:
    site_admin = bearer(await made(guarded, ROOT, name="adm-1", roles=["admin"], sites=[SITE]))
    other = bearer(await made(guarded, ROOT, name="wh-2", roles=["warehouse"], sites=[OTHER]))
    await made(guarded, ROOT, name="all", roles=["quality"], sites=["*"])
    await made(guarded, ROOT, name="both", roles=["quality"], sites=[SITE, OTHER])
    await made(guarded, ROOT, name="wh-1", roles=["warehouse"], sites=[SITE])

    listed = (await guarded.get(f"{API}/tokens", headers=site_admin)).json()
    assert [t["name"] for t in listed] == ["adm-1", "wh-1"]
    for name in ("wh-2", "all", "both"):
        refused = await guarded.delete(f"{API}/tokens/{name}", headers=site_admin)
        missing = await guarded.delete(f"{API}/tokens/nobody", headers=site_admin)
        assert refused.status_code == missing.status_code == 404
        assert refused.json()["message"] == f"no token named {name}"
    assert (await guarded.get(f"{API}/me", headers=other)).status_code == 200  # still works
    assert (await guarded.delete(f"{API}/tokens/wh-1", headers=site_admin)).status_code == 200

    audit = (await guarded.get(f"{API}/audit", headers=site_admin)).json()["items"]
    assert [(a["action"], a["target"], a["site"]) for a in audit] == [
        ("token.revoke", "wh-1", SITE),
        ("token.create", "wh-1", SITE),
        ("token.create", "adm-1", SITE),
    ]
    asked = await guarded.get(f"{API}/audit", params={"site": OTHER}, headers=site_admin)
    assert asked.status_code == 403
    everything = (await guarded.get(f"{API}/audit", headers=ROOT)).json()["items"]
    assert {a["target"] for a in everything} == {"adm-1", "wh-2", "all", "both", "wh-1"}


async def test_revoking_twice_keeps_the_first_time(guarded: httpx.AsyncClient) -> None:
    await made(guarded, ROOT, name="wh-1", roles=["warehouse"], sites=[SITE])
    first = await guarded.delete(f"{API}/tokens/wh-1", headers=ROOT)
    again = await guarded.delete(f"{API}/tokens/wh-1", headers=ROOT)
    assert first.status_code == again.status_code == 200
    assert again.json()["revoked_at"] == first.json()["revoked_at"]
    audit = await guarded.get(f"{API}/audit", headers=ROOT, params={"action": "token.revoke"})
    assert len(audit.json()["items"]) == 1


async def test_an_expired_token_is_refused(central: Central, guarded: httpx.AsyncClient) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    token = await made(
        guarded, ROOT, name="temp", roles=["warehouse"], sites=[SITE], expires_at=soon.isoformat()
    )
    headers = bearer(token)
    assert token.json()["expires_at"] is not None
    assert (await guarded.get(f"{API}/me", headers=headers)).status_code == 200
    async with central.engine.begin() as conn:  # an hour passes
        from sqlalchemy import update

        from central.db.tables import api_tokens

        past = datetime.now(UTC) - timedelta(seconds=1)
        await conn.execute(update(api_tokens).values(expires_at=past))
    refused = await guarded.get(f"{API}/me", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "TOKEN_EXPIRED"
    assert "expired" in refused.json()["message"]
    past_one = await made(
        guarded,
        ROOT,
        name="late",
        roles=["warehouse"],
        sites=[SITE],
        expires_at=(datetime.now(UTC) - timedelta(days=1)).isoformat(),
    )
    assert past_one.status_code == 422 and past_one.json()["code"] == "INVALID_EXPIRY"


def test_expires_takes_a_duration_or_an_iso_date() -> None:
    at = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert expiry_from("30d", at=at) == at + timedelta(days=30)
    assert expiry_from("12h", at=at) == at + timedelta(hours=12)
    assert expiry_from("90m", at=at) == at + timedelta(minutes=90)
    assert expiry_from("2027-01-01", at=at) == datetime(2027, 1, 1, tzinfo=UTC)
    assert expiry_from("2027-01-01T08:00:00+01:00", at=at) == datetime(2027, 1, 1, 7, tzinfo=UTC)
    for bad in ("soon", "30x", "2026-01-01"):
        with pytest.raises(InvalidInput):
            expiry_from(bad, at=at)

"""Failed logins (401) and tokens used beyond their roles or sites (403) become security
events; only admins list them, and an admin of some sites sees only those sites' events."""

from typing import Any

import httpx

from central.clock import now
from central.security.events import edge_revoked, record_apart
from tests.central.api.test_access import ADMIN, make_token
from tests.central.conftest import SITE, Central

API = "/api/v1"


async def listed(client: httpx.AsyncClient, headers: dict[str, str], **query: str) -> Any:
    """The events a caller is shown."""
    response = await client.get(f"{API}/security-events", headers=headers, params=query)
    assert response.status_code == 200, response.text
    return [
        (e["kind"], e["source"], e["site"], e["subject"], e["count"])
        for e in response.json()["items"]
    ]


async def test_bad_tokens_are_failed_logins_per_client(guarded: httpx.AsyncClient) -> None:
    revoked = await make_token(guarded, "gone", ["planning"], [SITE])
    assert (await guarded.delete(f"{API}/tokens/gone", headers=ADMIN)).status_code == 200
    for headers in (
        {},
        {"Authorization": "Bearer guessed"},
        {"Authorization": "Basic cm9vdDpyb290"},
        revoked,
    ):
        response = await guarded.get(f"{API}/license-plates", headers=headers)
        assert response.status_code == 401
    (event,) = await listed(guarded, ADMIN, kind="LOGIN_FAILED")
    assert event == ("LOGIN_FAILED", "127.0.0.1", None, None, 4)


async def test_token_used_beyond_its_roles_or_sites_is_misuse(
    guarded: httpx.AsyncClient,
) -> None:
    planner = await make_token(guarded, "planner-1", ["planning"], [SITE])
    other_site = await guarded.get(f"{API}/audit", headers=planner, params={"site": "plant-2"})
    assert other_site.json()["code"] == "SITE_FORBIDDEN"
    for _ in range(2):
        beyond_role = await guarded.get(f"{API}/security-events", headers=planner)
        assert beyond_role.json()["code"] == "ROLE_REQUIRED"
    assert set(await listed(guarded, ADMIN, kind="TOKEN_MISUSE")) == {
        ("TOKEN_MISUSE", "127.0.0.1", "plant-2", "planner-1", 1),
        ("TOKEN_MISUSE", "127.0.0.1", None, "planner-1", 2),
    }


async def test_site_admins_see_only_their_sites_events(
    central: Central, guarded: httpx.AsyncClient
) -> None:
    await central.send(central.env("wo.start", {"work_order": "WO-1"}, secret="forged"))
    await record_apart(
        central.engine,
        [edge_revoked(source="ioe/v1/plant-2/e-7/act", site="plant-2", edge="e-7", detail="x")],
        at=now(),
    )
    assert (await guarded.get(f"{API}/security-events")).status_code == 401  # LOGIN_FAILED
    site_admin = await make_token(guarded, "admin-1", ["admin"], [SITE])
    assert await listed(guarded, site_admin) == [
        ("BAD_SIGNATURE", f"ioe/v1/{SITE}/edge-1/act", SITE, None, 1)
    ]
    refused = await guarded.get(
        f"{API}/security-events", headers=site_admin, params={"site": "plant-2"}
    )
    assert refused.json()["code"] == "SITE_FORBIDDEN"
    everything = await listed(guarded, ADMIN)
    assert [kind for kind, *_ in everything] == [  # seen last first
        "TOKEN_MISUSE",
        "LOGIN_FAILED",
        "EDGE_REVOKED",
        "BAD_SIGNATURE",
    ]
    assert await listed(guarded, ADMIN, site="plant-2") == [
        ("TOKEN_MISUSE", "127.0.0.1", "plant-2", "admin-1", 1),  # its try at plant-2
        ("EDGE_REVOKED", "ioe/v1/plant-2/e-7/act", "plant-2", None, 1),
    ]
    later = await listed(guarded, ADMIN, since="2999-01-01T00:00:00Z")
    assert later == []

"""Webhook subscriptions over the API: made and changed by integrators within their sites,
secrets shown once, refused clearly, audited."""

import httpx
from sqlalchemy import select

from central.db.tables import webhooks
from tests.central.conftest import ADMIN_TOKEN, Central

API = "/api/v1"
ROOT = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HOOK = {"url": "https://erp.example.com/hooks/ioe", "types": ["lp.*", "wo.completed"]}


async def test_a_webhook_is_made_with_its_secret_shown_once(
    central: Central, guarded: httpx.AsyncClient
) -> None:
    tech = await central.bearer("tech-1", ["technical"], ["plant-1"])
    made = await guarded.post(f"{API}/webhooks", json=HOOK, headers=tech)
    assert made.status_code == 201, made.text
    body = made.json()
    secret, hook = body["secret"], body["webhook"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert hook["sites"] == ["plant-1"]  # the caller's sites when none are named
    assert hook["types"] == ["lp.*", "wo.completed"] and hook["enabled"] is True
    assert hook["health"]["consecutive_failures"] == 0
    # never again: not in the list, not in one, not in the database in clear
    listed = await guarded.get(f"{API}/webhooks", headers=tech)
    one = await guarded.get(f"{API}/webhooks/{hook['id']}", headers=tech)
    assert [h["id"] for h in listed.json()["items"]] == [hook["id"]]
    assert secret[6:] not in listed.text + one.text and "whsec_" not in listed.text + one.text
    async with central.engine.connect() as conn:
        sealed = (await conn.execute(select(webhooks.c.secret_sealed))).scalar_one()
    assert secret not in sealed and secret[6:] not in sealed
    audit = await guarded.get(f"{API}/audit", params={"action": "webhook.create"}, headers=ROOT)
    assert [e["target"] for e in audit.json()["items"]] == [str(hook["id"])]
    # rotation: a new secret, once; the old one signs on during the overlap
    rotated = await guarded.post(f"{API}/webhooks/{hook['id']}/rotate-secret", headers=tech)
    assert rotated.status_code == 200, rotated.text
    again = rotated.json()
    assert again["secret"].startswith("whsec_") and again["secret"] != secret
    assert again["webhook"]["secret_version"] == 2
    assert again["webhook"]["previous_secret_until"] is not None


async def test_another_sites_caller_neither_sees_nor_makes_nor_changes(
    central: Central, guarded: httpx.AsyncClient
) -> None:
    tech1 = await central.bearer("tech-1", ["technical"], ["plant-1"])
    tech2 = await central.bearer("tech-2", ["technical"], ["plant-2"])
    hook = (await guarded.post(f"{API}/webhooks", json=HOOK, headers=tech1)).json()["webhook"]
    path = f"{API}/webhooks/{hook['id']}"
    assert (await guarded.get(f"{API}/webhooks", headers=tech2)).json()["items"] == []
    for method, url, extra in (
        ("GET", path, {}),
        ("PATCH", path, {"json": {"enabled": False}}),
        ("DELETE", path, {}),
        ("POST", f"{path}/rotate-secret", {}),
        ("GET", f"{path}/deliveries", {}),
        ("POST", f"{path}/test", {}),
    ):
        answer = await guarded.request(method, url, headers=tech2, **extra)
        assert answer.status_code == 404, (method, url, answer.text)
        assert answer.json()["code"] == "NOT_FOUND"
    made = await guarded.post(f"{API}/webhooks", json={**HOOK, "sites": ["plant-1"]}, headers=tech2)
    assert made.status_code == 403 and made.json()["code"] == "SITE_FORBIDDEN"
    # a webhook of every site is an every-site admin's only
    everywhere = (
        await guarded.post(f"{API}/webhooks", json={**HOOK, "description": "all"}, headers=ROOT)
    ).json()["webhook"]
    assert everywhere["sites"] is None
    seen = [h["id"] for h in (await guarded.get(f"{API}/webhooks", headers=tech1)).json()["items"]]
    assert seen == [hook["id"]]
    # a floor role may not set webhooks up
    floor = await central.bearer("wh-1", ["warehouse"], ["plant-1"])
    refused = await guarded.post(f"{API}/webhooks", json=HOOK, headers=floor)
    assert refused.status_code == 403 and refused.json()["code"] == "ROLE_REQUIRED"
    assert (await guarded.get(f"{API}/webhooks", headers=floor)).status_code == 403


async def test_bad_subscriptions_are_refused_with_the_reason(central: Central) -> None:
    client = central.client
    for url in ("ftp://erp.example.com/x", "file:///etc/passwd", "erp.example.com/x", "http://"):
        answer = await client.post(f"{API}/webhooks", json={**HOOK, "url": url})
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["code"] == "BAD_WEBHOOK_URL", url
    unknown = await client.post(
        f"{API}/webhooks", json={**HOOK, "types": ["lp.moved", "lp.teleported", "zz.*"]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "UNKNOWN_EVENT_TYPE"
    assert unknown.json()["details"]["unknown"] == ["lp.teleported", "zz.*"]
    assert (await client.post(f"{API}/webhooks", json={**HOOK, "types": []})).status_code == 422
    assert await central.count("webhooks") == 0  # nothing half-made


async def test_a_webhook_is_changed_and_deleted_with_audit(central: Central) -> None:
    client = central.client
    hook = (await client.post(f"{API}/webhooks", json=HOOK)).json()["webhook"]
    path = f"{API}/webhooks/{hook['id']}"
    changed = await client.patch(
        path, json={"types": ["order.*"], "enabled": False, "description": "ERP orders"}
    )
    assert changed.status_code == 200, changed.text
    got = changed.json()
    assert (got["types"], got["enabled"], got["description"]) == (["order.*"], False, "ERP orders")
    assert got["url"] == HOOK["url"]  # untouched
    bad = await client.patch(path, json={"url": "gopher://x"})
    assert bad.status_code == 422 and bad.json()["code"] == "BAD_WEBHOOK_URL"
    assert (await client.delete(path)).status_code == 200
    assert (await client.get(path)).status_code == 404
    actions = [
        e["action"]
        for e in (await client.get(f"{API}/audit", params={"limit": 10})).json()["items"]
    ]
    assert {"webhook.create", "webhook.update", "webhook.delete"} <= set(actions)

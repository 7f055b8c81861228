"""Provisioning over REST: the secret is shown once, never listed; the optional admin token."""

import httpx

from central.api.app import create_app
from central.settings import CentralSettings
from tests.central.conftest import SITE, Central

API = "/api/v1"


async def test_provision_answers_the_secret_once(central: Central) -> None:
    response = await central.client.post(f"{API}/edges", json={"site": SITE, "edge_id": "edge-7"})
    assert response.status_code == 201
    body = response.json()
    assert (body["site"], body["edge_id"]) == (SITE, "edge-7") and len(body["secret"]) >= 43
    assert body["mqtt_username"] == f"{SITE}/edge-7" and len(body["mqtt_password"]) >= 43
    listed = await central.client.get(f"{API}/edges")
    assert body["secret"] not in listed.text and "secret" not in listed.text
    assert body["mqtt_password"] not in listed.text and "mqtt_password" not in listed.text
    again = await central.client.post(f"{API}/edges", json={"site": SITE, "edge_id": "edge-7"})
    assert again.json()["mqtt_password"] != body["mqtt_password"]  # provisioning again rotates
    items = listed.json()["items"]
    assert [e["edge_id"] for e in items] == ["edge-1", "edge-7"]
    assert set(items[0]) >= {
        "site",
        "edge_id",
        "online",
        "queue_depth",
        "oldest_pending_ts",
        "last_ack_seq",
        "last_seen",
        "last_seq",
        "version",
    }
    bad = await central.client.post(f"{API}/edges", json={"site": SITE, "edge_id": "a/b"})
    assert bad.status_code == 422


async def test_admin_token_guards_provisioning(central: Central) -> None:
    settings = CentralSettings(db_url=central.settings.db_url, admin_token="t0ken")
    app = create_app(settings, engine=central.engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central"
    ) as client:
        body = {"site": SITE, "edge_id": "edge-8"}
        missing = await client.post(f"{API}/edges", json=body)
        assert missing.status_code == 401 and missing.json()["code"] == "UNAUTHORIZED"
        wrong = await client.post(
            f"{API}/edges", json=body, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401 and wrong.json()["code"] == "UNAUTHORIZED"
        right = await client.post(
            f"{API}/edges", json=body, headers={"Authorization": "Bearer t0ken"}
        )
        assert right.status_code == 201
        assert (await client.get(f"{API}/edges")).status_code == 401  # reads need a token too
        listed = await client.get(f"{API}/edges", headers={"Authorization": "Bearer t0ken"})
        assert listed.status_code == 200 and len(listed.json()["items"]) == 2


async def test_the_registry_shows_each_edges_scanners(central: Central) -> None:
    import json

    from central.edges.presence import record_edge_state

    state = {"online": True, "scanners": {"dock-1": {"kind": "serial", "status": "waiting"}}}
    await record_edge_state(
        central.engine, site=SITE, edge="edge-1", payload=json.dumps(state).encode()
    )
    (edge,) = (await central.client.get(f"{API}/edges")).json()["items"]
    assert edge["scanners"] == {
        "dock-1": {
            "kind": "serial",
            "status": "waiting",
            "device": None,
            "reason": None,
            "since": "",
        }
    }

"""Tokens, roles and sites: who may write what, and who sees which plant's records."""

import asyncio
from asyncio.subprocess import PIPE

import httpx

from central.api.app import create_app
from central.db.engine import make_engine
from central.settings import CentralSettings
from harness import ioe_command
from tests.central.conftest import SITE, Central

API = "/api/v1"
ADMIN = {"Authorization": "Bearer root-token"}


async def make_token(
    client: httpx.AsyncClient, name: str, roles: list[str], sites: list[str]
) -> dict[str, str]:
    """A bearer header for a new token made through the API by the admin."""
    made = await client.post(
        f"{API}/tokens", headers=ADMIN, json={"name": name, "roles": roles, "sites": sites}
    )
    assert made.status_code == 201, made.text
    assert made.json()["token"].startswith("ioe_")
    return {"Authorization": f"Bearer {made.json()['token']}"}


async def test_open_central_treats_every_caller_as_admin(central: Central) -> None:
    me = (await central.client.get(f"{API}/me")).json()
    assert me == {"name": "anonymous", "roles": ["admin"], "sites": None}


async def test_roles_gate_writes_and_sites_filter_reads(guarded: httpx.AsyncClient) -> None:
    for site in (SITE, "plant-2"):
        made = await guarded.post(
            f"{API}/products",
            headers=ADMIN,
            json={"site": site, "code": "RAW-1", "name": "Raw", "uom": "kg"},
        )
        assert made.status_code == 201, made.text
    planner = await make_token(guarded, "planner-1", ["planning"], [SITE])
    tech = await make_token(guarded, "tech-2", ["technical"], ["plant-2"])

    me = (await guarded.get(f"{API}/me", headers=planner)).json()
    assert me == {"name": "planner-1", "roles": ["planning"], "sites": [SITE]}

    refused = await guarded.post(
        f"{API}/products",
        headers=planner,
        json={"site": SITE, "code": "RAW-2", "name": "Raw 2", "uom": "kg"},
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "ROLE_REQUIRED"
    assert refused.json()["details"] == {"needs": ["technical"], "has": ["planning"]}

    elsewhere = await guarded.post(
        f"{API}/products",
        headers=tech,
        json={"site": SITE, "code": "RAW-2", "name": "Raw 2", "uom": "kg"},
    )
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "SITE_FORBIDDEN"
    allowed = await guarded.post(
        f"{API}/products",
        headers=tech,
        json={"site": "plant-2", "code": "RAW-2", "name": "Raw 2", "uom": "kg"},
    )
    assert allowed.status_code == 201

    seen = (await guarded.get(f"{API}/products", headers=planner)).json()["items"]
    assert {(p["site"], p["code"]) for p in seen} == {(SITE, "RAW-1")}
    other = await guarded.get(f"{API}/products", headers=planner, params={"site": "plant-2"})
    assert other.status_code == 403 and other.json()["code"] == "SITE_FORBIDDEN"
    one = [
        p
        for p in (await guarded.get(f"{API}/products", headers=ADMIN)).json()["items"]
        if p["site"] == "plant-2"
    ][0]
    hidden = await guarded.get(f"{API}/products/{one['id']}", headers=planner)
    assert hidden.status_code == 404 and hidden.json()["code"] == "NOT_FOUND"


async def test_tokens_are_admin_business_and_revocable(guarded: httpx.AsyncClient) -> None:
    planner = await make_token(guarded, "planner-1", ["planning"], [SITE])
    not_admin = await guarded.post(
        f"{API}/tokens", headers=planner, json={"name": "x", "roles": ["admin"], "sites": ["*"]}
    )
    assert not_admin.status_code == 403
    again = await guarded.post(
        f"{API}/tokens",
        headers=ADMIN,
        json={"name": "planner-1", "roles": ["quality"], "sites": ["*"]},
    )
    assert again.status_code == 409
    bad_role = await guarded.post(
        f"{API}/tokens", headers=ADMIN, json={"name": "y", "roles": ["boss"], "sites": ["*"]}
    )
    assert bad_role.status_code == 422
    listed = (await guarded.get(f"{API}/tokens", headers=ADMIN)).json()
    assert [t["name"] for t in listed] == ["planner-1"] and "token" not in listed[0]

    revoked = await guarded.delete(f"{API}/tokens/planner-1", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    gone = await guarded.get(f"{API}/me", headers=planner)
    assert gone.status_code == 401 and gone.json()["code"] == "UNAUTHORIZED"

    audit = (await guarded.get(f"{API}/audit", headers=ADMIN)).json()["items"]
    assert [(a["action"], a["target"], a["actor"]) for a in audit] == [
        ("token.revoke", "planner-1", "admin"),
        ("token.create", "planner-1", "admin"),
    ]


async def cli(*args: str) -> tuple[int, str, str]:
    """Run `ioe ...` without blocking the loop; (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(*ioe_command(*args), stdout=PIPE, stderr=PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_makes_a_token_central_accepts(migrated_sqlite_url: str) -> None:
    url = migrated_sqlite_url
    code, out, err = await cli(
        "central",
        "token",
        "create",
        "--db",
        url,
        "--name",
        "scanner-gun",
        "--role",
        "warehouse",
        "--site",
        SITE,
    )
    assert code == 0, err
    token = out.strip()
    settings = CentralSettings(db_url=url, admin_token="root-token")
    engine = make_engine(url)
    app = create_app(settings, engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central"
    ) as client:
        me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["roles"] == ["warehouse"]
        code, out, _ = await cli("central", "token", "list", "--db", url)
        assert out.split() == ["scanner-gun", "warehouse", SITE, "active"]
        code, _, err = await cli(
            "central",
            "token",
            "create",
            "--db",
            url,
            "--name",
            "scanner-gun",
            "--role",
            "boss",
            "--site",
            SITE,
        )
        assert code == 1 and "roles must be some of" in err and "Traceback" not in err
        code, out, _ = await cli("central", "token", "revoke", "scanner-gun", "--db", url)
        assert code == 0 and "revoked" in out
        me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
    await engine.dispose()


async def test_provisioning_an_edge_and_adding_a_location_are_audited(
    guarded: httpx.AsyncClient,
) -> None:
    edge = await guarded.post(f"{API}/edges", headers=ADMIN, json={"site": SITE, "edge_id": "e-9"})
    assert edge.status_code == 201
    place = await guarded.post(
        f"{API}/locations",
        headers=ADMIN,
        json={"site": SITE, "code": "Q-9", "name": "Quarantine", "kind": "quality"},
    )
    assert place.status_code == 201
    audit = (await guarded.get(f"{API}/audit", headers=ADMIN)).json()["items"]
    assert [(a["action"], a["target"], a["site"]) for a in audit][:2] == [
        ("location.create", "Q-9", SITE),
        ("edge.provision", "e-9", SITE),
    ]

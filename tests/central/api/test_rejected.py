"""GET /security/rejected: the refused envelopes central keeps for inspection, listed to
admins, newest first, filtered, paged, their text cut short, another site's hidden."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from central.db.tables import rejected_actions
from central.security.queries import RAW_SHOWN_CHARS
from tests.central.api.test_access import ADMIN, make_token
from tests.central.conftest import SITE, Central

API = "/api/v1"
JSON = {"content-type": "application/json"}
BASE = datetime(2030, 1, 1, tzinfo=UTC)


async def refuse_some(central: Central) -> None:
    """Four kinds of refusal, each last seen a minute after the one before:
    junk over HTTP (no site), a long junk body, a forgery of edge-1 over MQTT (three times),
    and an envelope of an edge central does not know, at plant-2."""
    await central.client.post(f"{API}/actions", content=b"{junk", headers=JSON)
    await central.client.post(f"{API}/actions", content=b"{" + b"x" * 10_000, headers=JSON)
    forged = central.env("wo.start", {"work_order": "WO-1"}, secret="forged")
    for _ in range(3):
        await central.send(forged)
    stranger = central.env(
        "wo.start", {"work_order": "WO-1"}, site="plant-2", edge="e-9", secret="s"
    )
    await central.client.post(f"{API}/actions", json=stranger)
    rows = await central.rows("SELECT id FROM rejected_actions ORDER BY id")
    async with central.engine.begin() as conn:
        for minute, (row_id,) in enumerate(rows):
            seen = BASE + timedelta(minutes=minute)
            table = rejected_actions
            await conn.execute(update(table).where(table.c.id == row_id).values(last_seen=seen))


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **query: Any
) -> list[tuple[Any, ...]]:
    """(code, site, edge, count) of each refusal a caller is shown, in the order shown."""
    response = await client.get(f"{API}/security/rejected", headers=headers, params=query)
    assert response.status_code == 200, response.text
    return [(r["code"], r["site"], r["edge"], r["count"]) for r in response.json()["items"]]


async def test_refusals_are_listed_newest_first_with_their_text_cut_short(
    central: Central,
) -> None:
    await refuse_some(central)
    assert await listed(central.client) == [
        ("UNKNOWN_EDGE", "plant-2", "e-9", 1),
        ("BAD_SIGNATURE", SITE, "edge-1", 3),
        ("MALFORMED_JSON", None, None, 1),
        ("MALFORMED_JSON", None, None, 1),
    ]
    page = (await central.client.get(f"{API}/security/rejected")).json()
    long_junk = page["items"][2]
    assert long_junk["raw"] == "{" + "x" * (RAW_SHOWN_CHARS - 1)
    assert long_junk["raw_chars"] == 10_001 and long_junk["via"] == "http"
    forgery = page["items"][1]
    assert forgery["via"] == "mqtt" and forgery["seq"] == 1 and forgery["action_id"]
    assert forgery["raw_chars"] == len(forgery["raw"]) and '"wo.start"' in forgery["raw"]
    assert forgery["last_seen"].startswith("2030-01-01T00:02:00")
    assert page["limit"] == 100 and page["offset"] == 0


async def test_filters_and_paging(central: Central) -> None:
    await refuse_some(central)
    client = central.client
    assert await listed(client, site=SITE) == [("BAD_SIGNATURE", SITE, "edge-1", 3)]
    assert await listed(client, edge="e-9") == [("UNKNOWN_EDGE", "plant-2", "e-9", 1)]
    assert [c for c, *_ in await listed(client, code="MALFORMED_JSON")] == ["MALFORMED_JSON"] * 2
    since = (BASE + timedelta(minutes=2)).isoformat()
    assert [c for c, *_ in await listed(client, since=since)] == ["UNKNOWN_EDGE", "BAD_SIGNATURE"]
    assert await listed(client, limit=1, offset=1) == [("BAD_SIGNATURE", SITE, "edge-1", 3)]
    assert await listed(client, code="UNKNOWN_EDGE", site="plant-3") == []
    wrong = await client.get(f"{API}/security/rejected", params={"code": "NO_SUCH_CODE"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "VALIDATION_ERROR"


async def test_only_admins_list_refusals_and_a_site_admin_only_their_sites(
    central: Central, guarded: httpx.AsyncClient
) -> None:
    await refuse_some(central)
    assert (await guarded.get(f"{API}/security/rejected")).status_code == 401
    technical = await make_token(guarded, "tech-1", ["technical", "planning"], [SITE])
    refused = await guarded.get(f"{API}/security/rejected", headers=technical)
    assert refused.status_code == 403 and refused.json()["code"] == "ROLE_REQUIRED"
    site_admin = await make_token(guarded, "admin-1", ["admin"], [SITE])
    assert await listed(guarded, site_admin) == [("BAD_SIGNATURE", SITE, "edge-1", 3)]
    other = await guarded.get(
        f"{API}/security/rejected", headers=site_admin, params={"site": "plant-2"}
    )
    assert other.status_code == 403 and other.json()["code"] == "SITE_FORBIDDEN"
    assert len(await listed(guarded, ADMIN)) == 4  # every site, and refusals naming none

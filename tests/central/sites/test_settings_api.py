"""/sites/{site}/settings: a site without a row answers the defaults; planning (or an admin)
replaces them, audited; any caller of the site reads them; other sites are refused."""

import json
from typing import Any

import httpx

from tests.central.conftest import SITE, Central

API = f"/api/v1/sites/{SITE}/settings"


def details(value: Any) -> dict[str, Any]:
    """An audit entry's details, whichever way the database hands JSON back."""
    found: dict[str, Any] = json.loads(value) if isinstance(value, str) else value
    return found


async def test_a_site_never_configured_has_the_defaults(central: Central) -> None:
    shown = await central.client.get(API)
    assert shown.status_code == 200, shown.text
    assert shown.json() == {
        "site": SITE,
        "auto_release": False,
        "auto_release_wave": "route",
        "updated_at": None,
    }
    assert await central.count("site_settings") == 0


async def test_put_replaces_the_settings_and_is_audited(central: Central) -> None:
    put = await central.client.put(API, json={"auto_release": True, "auto_release_wave": "day"})
    assert put.status_code == 200, put.text
    assert (put.json()["auto_release"], put.json()["auto_release_wave"]) == (True, "day")
    assert put.json()["updated_at"] is not None
    again = await central.client.put(API, json={"auto_release": False})
    assert again.status_code == 200, again.text
    shown = (await central.client.get(API)).json()
    assert (shown["auto_release"], shown["auto_release_wave"]) == (False, "route")
    assert await central.rows("SELECT site, auto_release FROM site_settings") == [(SITE, False)]
    audit = await central.rows(
        "SELECT target, site, details FROM audit_log WHERE action = 'site.settings' ORDER BY at"
    )
    assert [(t, s) for t, s, _ in audit] == [(SITE, SITE), (SITE, SITE)]
    assert details(audit[0][2]) == {
        "before": {"auto_release": False, "auto_release_wave": "route"},
        "after": {"auto_release": True, "auto_release_wave": "day"},
    }
    assert details(audit[1][2])["before"] == {"auto_release": True, "auto_release_wave": "day"}


async def test_unknown_fields_and_values_are_refused(central: Central) -> None:
    for body in (
        {"auto_release": True, "auto_release_wave": "week"},
        {"auto_release": True, "release_everything": True},
        {"auto_release": "sometimes"},
        {"auto_release_wave": "day"},
    ):
        refused = await central.client.put(API, json=body)
        assert refused.status_code == 422, body
        assert refused.json()["code"] == "VALIDATION_ERROR"
    assert await central.count("site_settings") == 0
    assert await central.count("audit_log") == 0


async def test_roles_and_sites(central: Central, guarded: httpx.AsyncClient) -> None:
    planner = await central.bearer("planner", ["planning"], [SITE])
    dock = await central.bearer("dock", ["warehouse"], [SITE])
    stranger = await central.bearer("planner-2", ["planning", "admin"], ["plant-2"])
    on = {"auto_release": True, "auto_release_wave": "route"}

    refused = await guarded.put(API, json=on, headers=dock)
    assert refused.status_code == 403 and refused.json()["code"] == "ROLE_REQUIRED"
    assert await central.count("site_settings") == 0

    # Another site's settings: neither read nor written, not even by that site's admin.
    other_put = await guarded.put(API, json=on, headers=stranger)
    assert other_put.status_code == 403 and other_put.json()["code"] == "SITE_FORBIDDEN"
    other_get = await guarded.get(API, headers=stranger)
    assert other_get.status_code == 403 and other_get.json()["code"] == "SITE_FORBIDDEN"
    assert await central.count("site_settings") == 0

    assert (await guarded.put(API, json=on, headers=planner)).status_code == 200
    read = await guarded.get(API, headers=dock)  # any caller of the site reads them
    assert read.status_code == 200 and read.json()["auto_release"] is True
    (actor,) = await central.rows("SELECT actor FROM audit_log WHERE action = 'site.settings'")
    assert actor == ("planner",)
    anonymous = await guarded.get(API)
    assert anonymous.status_code == 401

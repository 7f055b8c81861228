"""/tasks: listed by wave then walking order with filters and pages; assigned by the
warehouse (audited); read by every caller of the site only."""

from datetime import UTC, datetime, timedelta

import httpx

from tests.central.conftest import SITE, Central
from tests.central.orders.helpers import TASKS, make_order, release, stock

DAY = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()


async def two_waves(c: Central) -> tuple[dict, dict]:
    await stock(c, "A", "3", location="A-01", expiry=DAY)
    await stock(c, "B", "3", location="A-02", expiry=DAY)
    await stock(c, "R", "3", location="RECV", expiry=DAY)
    first = await make_order(c, lines=[{"product": "RAW-1", "qty": "5", "unit_price": "1"}])
    second = await make_order(c, lines=[{"product": "RAW-1", "qty": "4", "unit_price": "1"}])
    one = (await release(c, first["id"])).json()
    two = (await release(c, second["id"])).json()
    return one, two


async def test_list_filters_and_pages(seeded: Central) -> None:
    one, two = await two_waves(seeded)
    c = seeded.client

    async def listed(**params: object) -> list[tuple[str, str, int]]:
        answer = await c.get(TASKS, params=params)
        assert answer.status_code == 200, answer.text
        return [(t["wave"], t["lp"], t["sequence"]) for t in answer.json()["items"]]

    w1, w2 = one["wave"], two["wave"]
    assert await listed() == [(w1, "A", 1), (w1, "B", 2), (w2, "B", 1), (w2, "R", 2)]
    assert await listed(zone="A-") == [(w1, "A", 1), (w1, "B", 2), (w2, "B", 1)]
    assert await listed(zone="RE") == [(w2, "R", 2)]
    assert await listed(wave=w2) == [(w2, "B", 1), (w2, "R", 2)]
    second_order = two["orders"][0]
    assert await listed(order=second_order["number"]) == [(w2, "B", 1), (w2, "R", 2)]
    assert await listed(order=str(second_order["id"])) == [(w2, "B", 1), (w2, "R", 2)]
    assert await listed(order="99999999999") == []  # no id that large: a number, not an error
    assert await listed(status="done") == []
    assert await listed(limit=2, offset=1) == [(w1, "B", 2), (w2, "B", 1)]
    number = one["tasks"][0]["number"]
    assigned = await c.post(f"{TASKS}/{number}/assign", json={"assignee": "op-7"})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"] == "op-7"
    assert await listed(assignee="op-7") == [(w1, "A", 1)]
    audit = await seeded.rows("SELECT target, details FROM audit_log WHERE action = 'task.assign'")
    assert audit[0][0] == number
    missing = await c.post(f"{TASKS}/PT-404/assign", json={"assignee": "op-7"})
    assert missing.status_code == 404


async def test_done_tasks_are_not_reassigned(seeded: Central) -> None:
    one, _ = await two_waves(seeded)
    task = one["tasks"][0]
    env = seeded.env("pick.confirm", {"task": task["number"], "lp": task["lp"], "qty": task["qty"]})
    assert (await seeded.send_one(env)).result.value == "applied"
    refused = await seeded.client.post(
        f"{TASKS}/{task['number']}/assign", json={"assignee": "op-7"}
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "TASK_DONE")


async def test_roles_and_sites(seeded: Central, guarded: httpx.AsyncClient) -> None:
    one, _ = await two_waves(seeded)
    number = one["tasks"][0]["number"]
    planner = await seeded.bearer("planner", ["planning"], [SITE])
    picker = await seeded.bearer("picker", ["warehouse"], [SITE])
    stranger = await seeded.bearer("stranger", ["warehouse"], ["plant-2"])
    body = {"assignee": "op-1"}
    refused = await guarded.post(f"{TASKS}/{number}/assign", json=body, headers=planner)
    assert (refused.status_code, refused.json()["code"]) == (403, "ROLE_REQUIRED")
    hidden = await guarded.post(f"{TASKS}/{number}/assign", json=body, headers=stranger)
    assert hidden.status_code == 404
    assert (await guarded.get(TASKS, headers=stranger)).json()["items"] == []
    assert len((await guarded.get(TASKS, headers=planner)).json()["items"]) == 4
    done = await guarded.post(f"{TASKS}/{number}/assign", json=body, headers=picker)
    assert done.status_code == 200
    # releasing is planning's: a picker may not
    order_id = one["orders"][0]["id"]
    wave = await guarded.post(f"/api/v1/orders/{order_id}/release", headers=picker)
    assert (wave.status_code, wave.json()["code"]) == (403, "ROLE_REQUIRED")

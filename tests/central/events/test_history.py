"""GET /api/v1/events/history: paging back, newest first, with filters and the caller's sites."""

import httpx

from central.events.outbox import DomainEvent, write_events
from central.events.sequencer import sequence_all
from central.events.types import EventType
from tests.central.conftest import Central

HISTORY = "/api/v1/events/history"


async def test_pages_back_newest_first_with_filters_and_sites(central: Central) -> None:
    events = [
        DomainEvent(EventType.LP_MOVED, "plant-1", f"LP-{i % 3}", {"n": i}) for i in range(7)
    ] + [
        DomainEvent(EventType.WO_STARTED, "plant-1", "WO-1"),
        DomainEvent(EventType.LP_MOVED, "plant-2", "LP-0"),
    ]
    async with central.engine.begin() as conn:
        await write_events(conn, events)
    async with central.engine.begin() as conn:
        await write_events(conn, [DomainEvent(EventType.LP_MOVED, "plant-1", "LP-LATE")])
    client = central.client
    if central.engine.dialect.name == "postgresql":  # numbered after commit: not history yet
        first = (await client.get(HISTORY, params={"limit": 4})).json()
        assert len(first["items"]) == 0 and first["next_before"] is None
    await sequence_all(central.engine)
    first = (await client.get(HISTORY, params={"limit": 4})).json()
    assert [e["id"] for e in first["items"]] == [10, 9, 8, 7]
    assert first["items"][0]["subject"] == "LP-LATE" and first["next_before"] == 7
    rest = (await client.get(HISTORY, params={"limit": 4, "before": 7})).json()
    assert [e["id"] for e in rest["items"]] == [6, 5, 4, 3] and rest["next_before"] == 3
    last = (await client.get(HISTORY, params={"limit": 4, "before": 3})).json()
    assert [e["id"] for e in last["items"]] == [2, 1] and last["next_before"] is None
    one_lp = (await client.get(HISTORY, params={"subject": "LP-0", "site": "plant-1"})).json()
    assert [e["payload"]["n"] for e in one_lp["items"]] == [6, 3, 0]
    wo = (await client.get(HISTORY, params={"types": "wo.*"})).json()
    assert [e["subject"] for e in wo["items"]] == ["WO-1"]
    # event ids are 64-bit: a busy plant passes 2**31 events within a year
    wide = (await client.get(HISTORY, params={"before": 2**40, "limit": 1})).json()
    assert [e["id"] for e in wide["items"]] == [10]
    too_wide = await client.get(HISTORY, params={"before": 2**63})
    assert too_wide.status_code == 422
    bad = await client.get(HISTORY, params={"types": "lp.vanished"})
    assert bad.status_code == 422 and bad.json()["code"] == "UNKNOWN_EVENT_TYPE"


async def test_a_caller_pages_only_through_its_own_sites(
    central: Central, guarded: httpx.AsyncClient
) -> None:
    async with central.engine.begin() as conn:
        await write_events(
            conn,
            [
                DomainEvent(EventType.LP_MOVED, "plant-2", "THEIRS"),
                DomainEvent(EventType.LP_MOVED, "plant-1", "MINE"),
            ],
        )
    await sequence_all(central.engine)
    plant1 = await central.bearer("viewer-1", ["quality"], ["plant-1"])
    mine = (await guarded.get(HISTORY, headers=plant1)).json()
    assert [e["subject"] for e in mine["items"]] == ["MINE"]
    other = await guarded.get(HISTORY, params={"site": "plant-2"}, headers=plant1)
    assert other.status_code == 403 and other.json()["code"] == "SITE_FORBIDDEN"
    assert (await guarded.get(HISTORY)).status_code == 401

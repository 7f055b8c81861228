"""GET /api/v1/events over a real HTTP server: live events, resume, gaps, filters, the
caller's sites, keep-alives, the bound on streams and what a closed stream gives back."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from central.db.engine import make_engine
from central.db.tables import outbox_events
from central.events.feed import EventFeed
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType
from central.settings import CentralSettings
from tests.central.conftest import ADMIN_TOKEN, Central
from tests.central.events.sse_client import Served, served, stream

EVENTS = "/api/v1/events"


def event(kind: EventType, subject: str, site: str | None = "plant-1") -> DomainEvent:
    return DomainEvent(kind, site, subject, {"to": "A-01"})


async def write(engine: AsyncEngine, *events: DomainEvent) -> None:
    async with engine.begin() as conn:
        await write_events(conn, events)


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(migrated_database_url)
    yield engine
    await engine.dispose()


def settings_for(url: str, **given: object) -> CentralSettings:
    return CentralSettings(db_url=url, sse_keepalive_seconds=30, **given)  # type: ignore[arg-type]


@pytest.fixture
async def api(migrated_database_url: str, engine: AsyncEngine) -> AsyncIterator[Served]:
    async with served(settings_for(migrated_database_url), engine) as server:
        yield server


async def test_new_events_arrive_live_and_a_reconnect_resumes_after_the_last_id(
    api: Served,
) -> None:
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        await write(api.engine, event(EventType.LP_CREATED, "LP-0"))  # before: not streamed
        async with stream(client, EVENTS) as reader:
            await write(api.engine, event(EventType.LP_MOVED, "LP-1"))
            await write(
                api.engine, event(EventType.LP_MOVED, "LP-2"), event(EventType.WO_STARTED, "WO-1")
            )
            got = await reader.events(3)
        assert [(m.id, m.event, m.json()["subject"]) for m in got] == [
            ("2", "lp.moved", "LP-1"),
            ("3", "lp.moved", "LP-2"),
            ("4", "wo.started", "WO-1"),
        ]
        first = got[0].json()
        assert first["id"] == 2 and first["site"] == "plant-1"
        assert first["payload"] == {"to": "A-01"} and first["recorded_at"]
        # Disconnected, two events happen; the reconnect names the last id it had
        await write(
            api.engine, event(EventType.LP_MOVED, "LP-3"), event(EventType.LP_MOVED, "LP-4")
        )
        async with stream(client, EVENTS, headers={"Last-Event-ID": "4"}) as reader:
            missed = await reader.events(2)
            await write(api.engine, event(EventType.LP_CONSUMED, "LP-5"))
            (live,) = await reader.events(1)
        assert [m.id for m in missed] == ["5", "6"] and live.id == "7"
        # ?after= starts further back; the header wins over it (EventSource reconnects so)
        async with stream(client, EVENTS, params={"after": 0}) as reader:
            assert [m.id for m in await reader.events(7)] == [str(i) for i in range(1, 8)]
        async with stream(
            client, EVENTS, params={"after": 0}, headers={"Last-Event-ID": "6"}
        ) as reader:
            assert [m.id for m in await reader.events(1)] == ["7"]


async def test_a_resume_from_before_retention_is_told_of_the_gap(api: Served) -> None:
    for i in range(6):  # six writes: six outbox rows, so retention can take some of them
        await write(api.engine, event(EventType.LP_MOVED, f"LP-{i}"))
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        async with stream(client, EVENTS, params={"after": 1}) as reader:
            assert [m.id for m in await reader.events(5)] == ["2", "3", "4", "5", "6"]
        async with api.engine.begin() as conn:  # retention removed events 1..3
            await conn.execute(delete(outbox_events).where(outbox_events.c.last_id <= 3))
        async with stream(client, EVENTS, headers={"Last-Event-ID": "1"}) as reader:
            gap, *rest = await reader.events(4)
        assert gap.event == "gap" and gap.id == "3"
        assert gap.json() == {"after": 1, "first_kept": 4, "reason": "retention"}
        assert [m.id for m in rest] == ["4", "5", "6"]
        # an id this central never gave: told so, then the stream goes on from the newest
        async with stream(client, EVENTS, params={"after": 99}) as reader:
            (gap,) = await reader.events(1)
            await write(api.engine, event(EventType.LP_MOVED, "LP-7"))
            (live,) = await reader.events(1)
        assert gap.event == "gap" and gap.json()["reason"] == "unknown_id" and gap.id == "6"
        assert live.id == "7"


async def test_filters_by_type_family_and_site(api: Served) -> None:
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        params = [("types", "lp.*,order.created"), ("types", "wo.started"), ("site", "plant-2")]
        async with stream(client, EVENTS, params=params) as reader:
            await write(
                api.engine,
                event(EventType.LP_MOVED, "LP-1", "plant-1"),  # another site
                event(EventType.LP_MOVED, "LP-2", "plant-2"),
                event(EventType.WO_COMPLETED, "WO-1", "plant-2"),  # another type
                event(EventType.ORDER_CREATED, "SO-1", "plant-2"),
                event(EventType.PRODUCT_CHANGED, "FG-1", None),  # no site
                event(EventType.WO_STARTED, "WO-2", "plant-2"),
            )
            got = await reader.events(3)
        assert [(m.event, m.json()["subject"]) for m in got] == [
            ("lp.moved", "LP-2"),
            ("order.created", "SO-1"),
            ("wo.started", "WO-2"),
        ]
        refused = await client.get(EVENTS, params={"types": "lp.moved,lp.teleported"})
        assert refused.status_code == 422
        assert refused.json()["code"] == "UNKNOWN_EVENT_TYPE"
        assert refused.json()["details"]["unknown"] == ["lp.teleported"]
        assert (await client.get(EVENTS, params={"types": "nothing.*"})).status_code == 422


async def test_a_caller_sees_only_its_own_sites_events(
    migrated_database_url: str, engine: AsyncEngine, central: Central
) -> None:
    settings = settings_for(migrated_database_url, admin_token=ADMIN_TOKEN)
    plant1 = await central.bearer("viewer-1", ["warehouse"], ["plant-1"])
    async with served(settings, engine) as api:
        async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
            assert (await client.get(EVENTS)).status_code == 401
            other = await client.get(EVENTS, params={"site": "plant-2"}, headers=plant1)
            assert other.status_code == 403 and other.json()["code"] == "SITE_FORBIDDEN"
            async with stream(client, EVENTS, params={"after": 0}, headers=plant1) as reader:
                await write(
                    engine,
                    event(EventType.LP_MOVED, "SECRET", "plant-2"),
                    event(EventType.PRODUCT_CHANGED, "ALL", None),
                    event(EventType.LP_MOVED, "MINE", "plant-1"),
                )
                (got,) = await reader.events(1)
                assert got.json()["subject"] == "MINE"
                await write(engine, event(EventType.LP_MOVED, "MINE-2", "plant-1"))
                (got,) = await reader.events(1)  # plant-2's never came in between
                assert got.json()["subject"] == "MINE-2"


async def test_idle_streams_get_keep_alives(
    migrated_database_url: str, engine: AsyncEngine
) -> None:
    settings = settings_for(migrated_database_url).model_copy(update={"sse_keepalive_seconds": 0.2})
    async with served(settings, engine) as api:
        async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
            async with stream(client, EVENTS) as reader:
                first, second = await reader.next(), await reader.next()
            assert first.comment == second.comment == "keep-alive"


async def test_streams_are_bounded_and_a_closed_one_frees_its_slot(
    migrated_database_url: str, engine: AsyncEngine
) -> None:
    settings = settings_for(migrated_database_url, sse_max_streams=2)
    async with served(settings, engine) as api:
        feed: EventFeed = api.app.state.event_feed
        async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
            async with stream(client, EVENTS), stream(client, EVENTS):
                assert feed.streams == 2
                full = await client.get(EVENTS)
                assert full.status_code == 503 and full.json()["code"] == "TOO_MANY_STREAMS"
                assert full.headers["retry-after"] == "5"
            for _ in range(200):  # the server hears of the disconnects
                if feed.streams == 0:
                    break
                await asyncio.sleep(0.02)
            assert feed.streams == 0 and feed._task is None  # the tail stopped with them
            async with stream(client, EVENTS) as reader:
                await write(engine, event(EventType.LP_MOVED, "LP-1"))
                (got,) = await reader.events(1)
                assert got.json()["subject"] == "LP-1"

"""A flood under made-up edge ids on a real broker and database: it goes through one bounded
lane, makes no lane per id, and a registered edge's batch is still applied and acked."""

import asyncio
import logging
import re
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from central.actions.processor import ActionProcessor
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.edges.registry import provision_edge
from central.ingest import IngestWorker
from central.security.drops import DropCounters
from central.settings import CentralSettings
from harness import FaultyLink
from protocol import build_envelope, encode_batch, read_acks
from protocol.topics import ack_topic, act_topic
from runtime.mqtt import MqttConnection
from tests.conftest import PG_URL, _fresh_pg_database

SITE = "plant-1"
JUNK_IDS = 2000


def probe_envelope(secret: str) -> dict[str, object]:
    """A real edge's envelope (a move of an unknown LP): its ack proves the worker is through
    everything published before it on the same link."""
    return build_envelope(
        type="lp.move",
        site=SITE,
        edge="edge-1",
        station="s",
        operator="o",
        seq=1,
        secret=secret,
        body={"lp": "NOPE", "to_location": "A"},
    )


async def test_made_up_edges_share_one_bounded_lane(
    migrated_database_url: str, own_broker: str
) -> None:
    settings = CentralSettings(
        db_url=migrated_database_url,
        unknown_lane_size=50,
        unknown_lane_workers=1,
        lane_idle_seconds=1.0,
    )
    engine = make_engine(migrated_database_url)
    processor = ActionProcessor(engine, settings)
    async with engine.begin() as conn:
        secret = await provision_edge(conn, site=SITE, edge_id="edge-1", box=processor.edge_box)
    worker = IngestWorker(processor, mqtt_url=own_broker, heartbeat=0.5)
    task = asyncio.create_task(worker.run())
    try:
        async with (
            await MqttConnection.open(own_broker) as flooder,
            await MqttConnection.open(own_broker) as device,
        ):
            await device.subscribe(ack_topic(SITE, "edge-1"))
            while not worker.connected:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # the subscription is in place once connected
            for n in range(JUNK_IDS):
                await flooder.publish(act_topic(SITE, f"fake-{n}"), b'[{"junk": %d}]' % n)
            env = probe_envelope(secret)
            await device.publish(act_topic(SITE, "edge-1"), encode_batch([env]))
            message = await asyncio.wait_for(anext(aiter(device.messages())), 15)
            acks = read_acks(message.payload, site=SITE, edge="edge-1", secret=secret)
            assert [a.id for a in acks] == [env["id"]]
            # No lane, no registry entry per made-up id; the overflow was dropped, counted.
            assert set(worker._lanes) <= {(SITE, "edge-1")}
            assert worker._registered == {(SITE, "edge-1")}
            assert worker._unregistered.qsize() <= 50
            while processor.drops.ingest_lane_full == 0 and worker._unregistered.qsize() < 50:
                await asyncio.sleep(0.05)
            # The registered edge's lane is reclaimed once idle.
            async with asyncio.timeout(10):
                while worker._lanes:
                    await asyncio.sleep(0.1)
            assert processor.drops.lanes_reclaimed == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await engine.dispose()
    stored = await _count(migrated_database_url)
    assert stored < JUNK_IDS  # what was dropped was never written


async def _count(url: str) -> int:
    engine = make_engine(url)
    async with engine.connect() as conn:
        from sqlalchemy import text  # noqa: PLC0415

        value = (await conn.execute(text("SELECT count(*) FROM rejected_actions"))).scalar_one()
    await engine.dispose()
    return int(value)


def test_a_drop_report_says_its_interval_and_the_totals() -> None:
    drops = DropCounters()
    counts, line = drops.report({}, 10)
    assert line is None  # nothing dropped: nothing to say
    drops.ingest_rate_limited += 45
    drops.lanes_reclaimed += 1
    counts, line = drops.report(counts, 10)
    assert line == (
        "45 dropped in the last 10 s (ingest_rate_limited 45); since start: 45 dropped "
        "(ingest_rate_limited 45, ingest_lane_full 0, edge_lane_full 0, lanes_reclaimed 1, "
        "rejected_not_kept 0, rejected_pruned 0)"
    )
    drops.ingest_lane_full += 19_247
    counts, line = drops.report(counts, 10)
    assert line is not None
    assert line.startswith("19247 dropped in the last 10 s (ingest_lane_full 19247); ")
    assert "since start: 19292 dropped (ingest_rate_limited 45, ingest_lane_full 19247," in line
    drops.lanes_reclaimed += 1  # a lane closed while idle is not a drop
    assert drops.report(counts, 10)[1] is None


REPORT = re.compile(
    r"ingest bounded its load: (\d+) dropped in the last [\d.]+ s \(.*\); "
    r"since start: (\d+) dropped \((.*)\)$"
)


async def test_drops_are_reported_after_the_flood_without_another_message(
    migrated_database_url: str, own_broker: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The drops of a flood are logged within an interval of the last one, even though no
    # message follows to trigger it; quiet intervals after it log nothing.
    caplog.set_level(logging.WARNING, logger="central.ingest")
    settings = CentralSettings(
        db_url=migrated_database_url, unknown_lane_size=5, unknown_lane_workers=1
    )
    engine = make_engine(migrated_database_url)
    processor = ActionProcessor(engine, settings)
    async with engine.begin() as conn:
        secret = await provision_edge(conn, site=SITE, edge_id="edge-1", box=processor.edge_box)
    interval = 0.5
    worker = IngestWorker(
        processor, mqtt_url=own_broker, heartbeat=0.5, drop_report_seconds=interval
    )
    task = asyncio.create_task(worker.run())

    def reports() -> list[tuple[int, int, str]]:
        found = [
            REPORT.search(r.getMessage()) for r in caplog.records if "bounded" in r.getMessage()
        ]
        assert all(found), [r.getMessage() for r in caplog.records]
        return [(int(m[1]), int(m[2]), m[3]) for m in found if m]

    try:
        async with await MqttConnection.open(own_broker) as device:
            await device.subscribe(ack_topic(SITE, "edge-1"))
            while not worker.connected:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # the subscription is in place once connected
            for n in range(300):
                await device.publish(act_topic(SITE, f"fake-{n % 3}"), b'[{"junk": %d}]' % n)
            # Published after the flood on the same link, so its ack means the receive loop
            # has routed (or dropped) every flood message.
            env = probe_envelope(secret)
            await device.publish(act_topic(SITE, "edge-1"), encode_batch([env]))
            await asyncio.wait_for(anext(aiter(device.messages())), 15)
            flood_over = asyncio.get_running_loop().time()
            total = processor.drops.total()
            assert total >= 250  # 5 a topic at once, 2 a second after that

            async with asyncio.timeout(10):
                while not reports() or reports()[-1][1] != total:
                    await asyncio.sleep(0.05)
            reported_after = asyncio.get_running_loop().time() - flood_over
            assert reported_after < interval + 1.0  # within its interval (and some slack)
            lines = reports()
            assert sum(recent for recent, _, _ in lines) == total  # each drop said once
            totals = ", ".join(f"{n} {c}" for n, c in processor.drops.as_dict().items())
            assert lines[-1][2] == totals
            await asyncio.sleep(3 * interval)
            assert reports() == lines  # nothing dropped since: nothing logged
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await engine.dispose()


class _DatabaseLostAfterApply(ActionProcessor):
    """The real apply path, and the database link cut the moment a batch has committed: the
    worker must then read the edge's key to sign the ack, from a database that is gone."""

    def __init__(self, *args: Any, link: FaultyLink, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.link: FaultyLink | None = link

    async def process_message(self, *args: Any, **kwargs: Any) -> Any:
        acks = await super().process_message(*args, **kwargs)
        if self.link is not None:  # the first batch only
            self.link.drop(refuse=True)
            self.link = None
        return acks


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL tier: IOE_TEST_DATABASE_URL is not set")
async def test_a_database_lost_between_apply_and_ack_leaves_central_running(
    own_broker: str, _pg_databases: list[str]
) -> None:
    """Seen in the fault suite (postgresql seed 433): the key read for the ack failed and
    the exception ended the lane's task group, and central with it."""
    db_url = await asyncio.to_thread(_fresh_pg_database, _pg_databases)
    await upgrade(db_url)
    url = make_url(db_url)
    link = FaultyLink(url.port or 5432, url.host or "127.0.0.1")
    linked = url.set(port=link.port).render_as_string(hide_password=False)
    engine = make_engine(linked)
    processor = _DatabaseLostAfterApply(engine, CentralSettings(db_url=linked), link=link)
    async with engine.begin() as conn:
        secret = await provision_edge(conn, site=SITE, edge_id="edge-1", box=processor.edge_box)
    worker = IngestWorker(processor, mqtt_url=own_broker, heartbeat=0.5)
    task = asyncio.create_task(worker.run())
    try:
        async with await MqttConnection.open(own_broker) as device:
            await device.subscribe(ack_topic(SITE, "edge-1"))
            while not worker.connected:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            env = probe_envelope(secret)
            await device.publish(act_topic(SITE, "edge-1"), encode_batch([env]))
            await asyncio.sleep(2)  # applied, then no ack: the key could not be read
            assert not task.done(), task.exception()
            link.accept_again()  # the database is back; the edge resends until answered
            messages = aiter(device.messages())
            async with asyncio.timeout(30):
                while True:
                    await device.publish(act_topic(SITE, "edge-1"), encode_batch([env]))
                    try:
                        message = await asyncio.wait_for(anext(messages), 2)
                        break
                    except TimeoutError:
                        continue
            (ack,) = read_acks(message.payload, site=SITE, edge="edge-1", secret=secret)
            assert ack.result == "duplicate"  # applied once, the first time
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        link.close()
        await engine.dispose()

"""Recording is an upsert: replicas recording the same event at once lose no count."""

import asyncio

from central.actions.intake import security_events
from central.clock import now
from central.db.engine import make_engine
from central.security.events import SecurityEvent, record_apart
from protocol import Ack, AckResult
from tests.central.conftest import Central

SOURCE = "ioe/v1/plant-1/edge-1/act"


async def test_two_replicas_recording_at_once_lose_no_count(central: Central) -> None:
    replicas = [make_engine(central.settings.db_url) for _ in range(2)]
    forged = SecurityEvent("BAD_SIGNATURE", SOURCE, "forged", site="plant-1", edge="edge-1")
    try:
        recorded = await asyncio.gather(
            *(record_apart(engine, [forged], at=now()) for _ in range(40) for engine in replicas)
        )
    finally:
        for engine in replicas:
            await engine.dispose()
    assert all(recorded)
    assert await central.rows("SELECT source, count FROM security_events") == [(SOURCE, 80)]


async def test_events_in_one_call_are_summed_and_kept_apart_by_key(central: Central) -> None:
    one = SecurityEvent("LOGIN_FAILED", "10.0.0.1", "no token")
    other_source = SecurityEvent("LOGIN_FAILED", "10.0.0.2", "no token")
    assert await record_apart(central.engine, [one, one, other_source, one], at=now())
    rows = await central.rows("SELECT source, count FROM security_events ORDER BY source")
    assert rows == [("10.0.0.1", 3), ("10.0.0.2", 1)]


def test_revoked_edges_refusals_are_security_events() -> None:
    refused = Ack(id="a", seq=1, result=AckResult.REJECTED, code="EDGE_REVOKED", message="off")
    schema = Ack(id="b", seq=2, result=AckResult.REJECTED, code="SCHEMA_INVALID", message="bad")
    raws = [{"site": "plant-1", "edge": "edge-1"}, {"site": "plant-1", "edge": "edge-1"}]
    (event,) = security_events(
        raws, [refused, schema], source="10.0.0.5", topic_site=None, topic_edge=None
    )
    assert (event.kind, event.source, event.site, event.edge) == (
        "EDGE_REVOKED",
        "10.0.0.5",
        "plant-1",
        "edge-1",
    )

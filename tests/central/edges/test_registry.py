"""The edge registry: provisioning, secret rotation, presence from the retained state topic."""

import json

from central.edges.presence import record_edge_state
from central.edges.registry import list_edges, provision_edge
from protocol import AckResult
from tests.central.conftest import EDGE, SITE, Central


async def test_reprovisioning_rotates_the_secret(seeded: Central) -> None:
    old = seeded.secrets[EDGE]
    before = seeded.env("lp.move", {"lp": "NOPE", "to_location": "A-01"})
    async with seeded.engine.begin() as conn:
        new = await provision_edge(conn, site=SITE, edge_id=EDGE, box=seeded.processor.edge_box)
    assert new != old and len(new) >= 43
    assert (await seeded.send_one(before)).code == "BAD_SIGNATURE"
    seeded.secrets[EDGE] = new
    after = seeded.env("lp.move", {"lp": "NOPE", "to_location": "A-01"})
    assert (await seeded.send_one(after)).result == AckResult.CONFLICT
    async with seeded.engine.connect() as conn:
        assert len(await list_edges(conn)) == 1


async def test_state_updates_the_registry(central: Central) -> None:
    payload = json.dumps(
        {
            "online": True,
            "queue_depth": 42,
            "last_ack_seq": 17,
            "oldest_pending_ts": "2026-11-22T13:00:00.000Z",
            "version": "0.1.0",
            "backlog_warning": False,
        }
    ).encode()
    await record_edge_state(central.engine, site=SITE, edge=EDGE, payload=payload)
    async with central.engine.connect() as conn:
        (edge,) = await list_edges(conn)
    assert (edge.online, edge.queue_depth, edge.last_ack_seq, edge.version) == (
        True,
        42,
        17,
        "0.1.0",
    )
    assert edge.oldest_pending_ts == "2026-11-22T13:00:00.000Z"
    assert edge.last_seen is not None and edge.last_seen.tzinfo is not None
    assert not hasattr(edge, "secret")


async def test_bad_or_unknown_state_is_ignored(central: Central) -> None:
    for site, edge, payload in (
        (SITE, EDGE, b"not json"),
        (SITE, EDGE, b'{"queue_depth": 1}'),
        (SITE, EDGE, b""),
        (SITE, "edge-9", b'{"online": true}'),
    ):
        await record_edge_state(central.engine, site=site, edge=edge, payload=payload)
    async with central.engine.connect() as conn:
        edges = await list_edges(conn)
    assert [(e.edge_id, e.online, e.last_seen) for e in edges] == [(EDGE, False, None)]


async def test_state_keeps_each_scanner_bounded(central: Central) -> None:
    scanners = {
        "dock-1": {"kind": "serial", "status": "waiting", "device": None, "reason": "unplugged"},
        "line-1": {"kind": "evdev", "status": "connected", "device": "/dev/input/event3"},
    }
    # A hostile edge's flood: many stations, long texts. The registry keeps a bounded row.
    flood = {
        f"st-{i}": {"kind": "serial", "status": "error", "reason": "x" * 5000} for i in range(500)
    }
    for reported in (scanners, flood):
        payload = json.dumps({"online": True, "scanners": reported}).encode()
        await record_edge_state(central.engine, site=SITE, edge=EDGE, payload=payload)
        async with central.engine.connect() as conn:
            (edge,) = await list_edges(conn)
        if reported is scanners:
            assert edge.scanners is not None
            assert edge.scanners["dock-1"]["status"] == "waiting"
            assert edge.scanners["dock-1"]["reason"] == "unplugged"
            assert edge.scanners["line-1"]["device"] == "/dev/input/event3"
    assert edge.scanners is not None and len(edge.scanners) == 64
    assert all(len(s["reason"] or "") == 200 for s in edge.scanners.values())

"""Reference data on a real Mosquitto run with the files `ioe broker-config` wrote: an edge asks
for snapshots only as itself, reads only its own snapshot pages, and cannot publish deltas,
heads or pages. Each attack is followed by an allowed message on the same path (the control;
see test_mosquitto_acl.py)."""

from protocol.topics import (
    REF_REQUEST_FILTER,
    ref_filter,
    ref_request_topic,
    ref_snapshot_topic,
    ref_topic,
    shared,
)
from tests.central.broker.conftest import EDGES, SITE, AclBroker
from tests.central.broker.test_mosquitto_acl import subscribe_or_refused, until

A_REQUEST, B_REQUEST = ref_request_topic(*EDGES["a"]), ref_request_topic(*EDGES["b"])
A_SNAPSHOT, B_SNAPSHOT = ref_snapshot_topic(*EDGES["a"]), ref_snapshot_topic(*EDGES["b"])
LP, HEAD = ref_topic(SITE, "lp"), ref_topic(SITE, "head")


async def test_an_edge_asks_for_snapshots_only_as_itself(acl_broker: AclBroker) -> None:
    async with (
        await acl_broker.connect("central-1") as plain,
        await acl_broker.connect("central-2") as sharing,
        await acl_broker.connect("a") as edge_a,
    ):
        await plain.subscribe(REF_REQUEST_FILTER)
        await sharing.subscribe(shared(REF_REQUEST_FILTER))
        await edge_a.publish(B_REQUEST, b'{"forged": true}')
        await edge_a.publish(A_REQUEST, b'{"own": true}')
        for central in (plain, sharing):
            received = await until(central, A_REQUEST)
            assert [(m.topic, m.payload) for m in received] == [(A_REQUEST, b'{"own": true}')]


async def test_an_edge_cannot_publish_deltas_heads_or_snapshot_pages(
    acl_broker: AclBroker,
) -> None:
    async with (
        await acl_broker.connect("central-1") as central,
        await acl_broker.connect("a") as edge_a,
        await acl_broker.connect("b") as edge_b,
    ):
        await edge_b.subscribe(ref_filter(SITE), B_SNAPSHOT)
        await edge_a.publish(LP, b"forged delta")
        await edge_a.publish(HEAD, b"forged head", retain=True)
        await edge_a.publish(B_SNAPSHOT, b"forged page")
        await central.publish(LP, b"delta")
        await central.publish(B_SNAPSHOT, b"page")
        seen = await until(edge_b, B_SNAPSHOT)
        assert [(m.topic, m.payload) for m in seen] == [(LP, b"delta"), (B_SNAPSHOT, b"page")]
        # Nothing forged was retained either: a late subscriber gets central's head only.
        await central.publish(HEAD, b"head", retain=True)
        await edge_a.subscribe(HEAD)
        (retained,) = await until(edge_a, HEAD)
        assert (retained.payload, retained.retain) == (b"head", True)


async def test_an_edge_cannot_read_another_edges_snapshot(acl_broker: AclBroker) -> None:
    async with (
        await acl_broker.connect("central-1") as central,
        await acl_broker.connect("a") as edge_a,
        await acl_broker.connect("b") as edge_b,
    ):
        await edge_b.subscribe(B_SNAPSHOT)
        named = await subscribe_or_refused(edge_a, B_SNAPSHOT)
        await edge_a.subscribe("ioe/v1/#")
        await edge_a.subscribe(A_SNAPSHOT)
        await central.publish(B_SNAPSHOT, b"for b")
        await central.publish(A_SNAPSHOT, b"for a")
        to_a = await until(edge_a, A_SNAPSHOT)
        to_b = await until(edge_b, B_SNAPSHOT)
    assert {m.topic for m in to_a} == {A_SNAPSHOT}, f"named subscription granted: {named}"
    assert [m.payload for m in to_b] == [b"for b"]

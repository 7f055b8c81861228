"""The edge's reference cache driven over a real broker by signed messages of a test central.

Each test has a broker of its own (central's retained state is global), the edge's real queue,
cache file, sync loop and local API; the scripted central publishes what central's reference
publisher would, signed with its key, and reads the edge's snapshot requests.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness import free_port
from harness.stack import KillableBroker
from protocol import format_ts
from protocol.ref import REF_KINDS, sign_ref
from protocol.topics import ref_topic
from runtime.mqtt import MqttConnection
from tests.conftest import MQTT_URL
from tests.edge.ref_helpers import (
    CENTRAL_SEED,
    Edge,
    ScriptedCentral,
    body,
    edge_config,
    item,
    lp,
    running_edge,
    until,
)

ATTACKER_SEED = bytes([9]) * 32
PRODUCT = {
    "code": "P-100",
    "name": "Widget",
    "uom": "EA",
    "type": "finished",
    "gtins": ["4006381333931"],
    "shelf_life_days": None,
}


@pytest.fixture(params=["embedded", "mosquitto"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KillableBroker]:
    """A broker of the test's own, which a test may kill."""
    if request.param == "mosquitto" and not MQTT_URL:
        pytest.skip("Mosquitto tier: IOE_TEST_MQTT_URL is not set")
    own = KillableBroker(request.param, tmp_path)
    own.start()
    yield own
    own.kill()


@pytest.fixture
def site() -> str:
    return f"plant-{free_port()}"


async def synced(edge: Edge, central: ScriptedCentral, as_of: dict[str, int]) -> None:
    """Answer the edge's first snapshot request (every kind) with PRODUCT and LP1 at A-01."""
    request = await central.wait_requests(1)
    assert request.kinds == [], "an empty cache asks for every kind (the first ones: no list)"
    records = {"product": [item("P-100", PRODUCT)], "lp": [item("LP1", lp("LP1"))]}
    await central.answer(request, records, as_of)
    await until(lambda: edge.follower.snapshots == 1, "the snapshot to be swapped in")


async def test_snapshot_then_deltas_apply_repeats_drop_and_lookups_answer(
    broker: KillableBroker, tmp_path: Path, site: str
) -> None:
    async with (
        ScriptedCentral(broker.url, site) as central,
        running_edge(edge_config(tmp_path, site, broker.url)) as edge,
    ):
        await central.announce(True)
        assert (await edge.get("/lookup/lp/LP1")).status_code == 404
        await synced(edge, central, {"lp": 5, "product": 3})
        await central.head({"lp": 5, "product": 3})

        found = body(await edge.get("/lookup/lp/LP1"))
        assert found["data"]["location"] == "A-01" and found["pending"] is False
        await until(lambda: edge.follower.freshness("lp").reasons == (), "lp to be current")
        by_gtin = body(await edge.get("/lookup/product/04006381333931"))
        assert by_gtin["data"]["code"] == "P-100", "a GTIN-14 finds the product of its GTIN-13"
        assert body(await edge.get("/lookup/product/4006381333931"))["data"]["name"] == "Widget"

        await central.publish(central.delta("lp", 9, [item("LP1", lp("LP1", location="B-02"))]))
        await until(lambda: edge.follower.applied == 1, "the delta to apply")
        moved = body(await edge.get("/lookup/lp/LP1"))
        assert moved["data"]["location"] == "B-02"
        assert moved["stale"] is False, moved
        assert moved["as_of"] is not None

        # The same delta again (a broker redelivery, a repeat after central restarted).
        await central.publish(central.delta("lp", 9, [item("LP1", lp("LP1", location="Z"))], 5))
        await until(lambda: edge.follower.repeats == 1, "the repeat to be dropped")
        assert body(await edge.get("/lookup/lp/LP1"))["data"]["location"] == "B-02"

        # A delete removes the record.
        await central.publish(central.delta("lp", 12, [item("LP1", None)]))
        await until(lambda: edge.follower.applied == 2, "the delete to apply")
        gone = await edge.get("/lookup/lp/LP1")
        assert gone.status_code == 404
        assert body(gone)["code"] == "NOT_IN_CACHE"
        assert body(gone)["details"]["cache"] == "empty"
        assert edge.follower.snapshot_requests == 1, "nothing missed: no other snapshot"


async def test_a_gap_asks_for_a_snapshot_and_deltas_meanwhile_follow_it(
    broker: KillableBroker, tmp_path: Path, site: str
) -> None:
    async with (
        ScriptedCentral(broker.url, site) as central,
        running_edge(edge_config(tmp_path, site, broker.url)) as edge,
    ):
        await synced(edge, central, {"lp": 5})
        # Delta 7 (after 6) arrives; 6 was never seen: a gap.
        await central.publish(central.delta("lp", 7, [item("LP2", lp("LP2"))], prev=6))
        request = await central.wait_requests(2)
        assert request.kinds == ["lp"], "only the kind with the gap is asked for"
        assert edge.follower.gaps == 1
        assert "snapshot_pending" in body(await edge.get("/lookup/lp/LP1"))["stale_reasons"]
        # Delta 8 arrives while the snapshot is on its way: held, then applied after it.
        await central.publish(central.delta("lp", 8, [item("LP3", lp("LP3"))], prev=7))
        await central.answer(
            request, {"lp": [item("LP1", lp("LP1", qty="4")), item("LP2", lp("LP2"))]}, {"lp": 7}
        )
        await until(lambda: edge.follower.snapshots == 2, "the second snapshot")
        await until(lambda: edge.follower.status()["chains"]["lp"]["last_id"] == 8, "delta 8")
        assert body(await edge.get("/lookup/lp/LP1"))["data"]["qty"] == "4"
        assert (await edge.get("/lookup/lp/LP3")).status_code == 200, "the held delta applied"
        assert body(await edge.get("/lookup/product/P-100"))["data"]["code"] == "P-100", (
            "a snapshot of one kind leaves the others as they were"
        )


async def test_pages_are_swapped_in_only_when_all_arrived_and_a_silent_request_is_asked_again(
    broker: KillableBroker, tmp_path: Path, site: str
) -> None:
    config = edge_config(tmp_path, site, broker.url, ref_snapshot_timeout_seconds=0.5)
    async with (
        ScriptedCentral(broker.url, site) as central,
        running_edge(config) as edge,
    ):
        first = await central.wait_requests(1)
        # Every page but the LPs' (the last one): nothing may be swapped in.
        records = {"product": [item("P-100", PRODUCT)], "lp": [item("LP1", lp("LP1"))]}
        await central.answer(first, records, {"lp": 5}, skip={len(REF_KINDS)})
        second = await central.wait_requests(2)
        assert second.id != first.id, "asked again under a new id after the timeout"
        assert (await edge.get("/lookup/product/P-100")).status_code == 404, "half a snapshot"
        assert edge.follower.snapshots == 0
        # The missing page of the first request comes late: it belongs to no request now.
        await central.answer(first, records, {"lp": 5})
        await central.answer(second, records, {"lp": 5})
        await until(lambda: edge.follower.snapshots == 1, "the second request's snapshot")
        assert body(await edge.get("/lookup/lp/LP1"))["data"]["qty"] == "10"


async def test_forged_and_misplaced_deltas_are_dropped_counted_and_never_applied(
    broker: KillableBroker, tmp_path: Path, site: str
) -> None:
    async with (
        ScriptedCentral(broker.url, site) as central,
        running_edge(edge_config(tmp_path, site, broker.url)) as edge,
    ):
        await synced(edge, central, {"lp": 5})
        forged = central.delta("lp", 6, [item("LP1", lp("LP1", location="THIEF"))], prev=5)
        other_site = forged.model_copy(update={"site": "plant-other"})
        async with await MqttConnection.open(broker.url) as attacker:
            topic = ref_topic(site, "lp")
            await attacker.publish(topic, sign_ref(forged, ATTACKER_SEED))  # its own key
            unsigned = forged.model_dump_json().encode()
            await attacker.publish(topic, unsigned)  # no signature at all
            # Central's genuine delta of another site, replayed on this site's topic.
            await attacker.publish(topic, sign_ref(other_site, CENTRAL_SEED))
            # Central's genuine lp delta, replayed on the product topic.
            await attacker.publish(ref_topic(site, "product"), sign_ref(forged, CENTRAL_SEED))
            await attacker.publish(topic, b"not json")
        await until(lambda: edge.follower.refused == 5, "the forgeries to be refused")
        status = body(await edge.get("/lookup"))
        assert status["refused"] == 5 and status["kinds"]["lp"]["last_id"] == 5
        assert body(await edge.get("/lookup/lp/LP1"))["data"]["location"] == "A-01"
        assert edge.follower.applied == 0 and edge.follower.gaps == 0
        # The genuine one still applies afterwards.
        await central.publish(forged)
        await until(lambda: edge.follower.applied == 1, "the genuine delta")
        assert body(await edge.get("/lookup/lp/LP1"))["data"]["location"] == "THIEF"


async def test_an_edge_behind_the_head_asks_for_a_snapshot_when_no_delta_fills_it(
    broker: KillableBroker, tmp_path: Path, site: str
) -> None:
    config = edge_config(tmp_path, site, broker.url, ref_catchup_seconds=0.3)
    async with ScriptedCentral(broker.url, site) as central:
        async with running_edge(config) as edge:
            await synced(edge, central, {"lp": 5, "task": 2})
        # While the edge is away central moves on: the deltas are gone, the head stays.
        await central.publish(central.delta("lp", 8, [item("LP1", lp("LP1", location="C"))]))
        await central.head({"lp": 8, "task": 2})
        central.requests.clear()
        restarted = format_ts(datetime.now(UTC))
        async with running_edge(config) as edge:
            request = await central.wait_requests(1)
            assert request.kinds == ["lp"], "only the kind behind the head"
            behind = body(await edge.get("/lookup/lp/LP1"))
            assert behind["data"]["location"] == "A-01"
            # Stale since the kind fell behind: at or after this start, and it stays put.
            since = edge.follower.freshness("lp").since
            assert since is not None and since >= restarted
            assert behind["stale"] and behind["stale_since"] >= restarted
            await central.answer(request, {"lp": [item("LP1", lp("LP1", location="C"))]}, {"lp": 8})
            await until(lambda: edge.follower.snapshots == 1, "the catch-up snapshot")
            answer = body(await edge.get("/lookup/lp/LP1"))
            assert answer["data"]["location"] == "C"
            assert "behind_head" not in answer["stale_reasons"]
            assert edge.follower.freshness("lp").since is None  # caught up


async def test_an_offline_move_shows_on_the_lp_until_central_acks_it(
    broker: KillableBroker, tmp_path: Path, site: str
) -> None:
    async with (
        ScriptedCentral(broker.url, site) as central,
        running_edge(edge_config(tmp_path, site, broker.url)) as edge,
    ):
        await synced(edge, central, {"lp": 5})
        # Central is offline: the move is only in the edge's queue.
        move = await edge.queue.enqueue(
            type="lp.move",
            station="pick-a",
            operator="op-1",
            body={"lp": "LP1", "to_location": "B-07"},
        )
        split = await edge.queue.enqueue(
            type="lp.split",
            station="pick-a",
            operator="op-1",
            body={"lp": "LP1", "qty": "3", "new_lp": "LP9"},
        )
        answer = body(await edge.get("/lookup/lp/LP1"))
        assert answer["data"]["location"] == "B-07"
        assert answer["data"]["qty"] == "7"
        assert answer["pending"] is True
        assert answer["pending_actions"] == [move.id, split.id]
        assert answer["cached"]["location"] == "A-01", "central's own summary beside it"
        assert answer["stale"] is True and "central_offline" in answer["stale_reasons"]
        part = body(await edge.get("/lookup/lp/LP9"))
        assert part["data"]["qty"] == "3" and part["data"]["product"] == "P-100"
        assert part["data"]["location"] == "B-07", "the part is split off where the LP now is"
        assert part["pending_actions"] == [split.id]
        assert (await edge.get("/lookup/lp/LP8")).status_code == 404
        # A carton central knows on pallet PAL-1; the pallet is moved here, offline.
        await central.publish(
            central.delta("lp", 6, [item("CT-1", lp("CT-1", parent="PAL-1", location="A-01"))])
        )
        await until(lambda: edge.follower.applied == 1, "the carton's delta")
        pallet_move = await edge.queue.enqueue(
            type="lp.move",
            station="pick-a",
            operator="op-1",
            body={"lp": "PAL-1", "to_location": "DOCK-3"},
        )
        carton = body(await edge.get("/lookup/lp/CT-1"))
        assert carton["data"]["location"] == "DOCK-3", "the carton went with its pallet"
        assert carton["pending_actions"] == [pallet_move.id]


async def test_lookups_say_stale_when_central_or_the_broker_is_away(
    broker: KillableBroker, tmp_path: Path, site: str
) -> None:
    async with (
        ScriptedCentral(broker.url, site) as central,
        running_edge(edge_config(tmp_path, site, broker.url)) as edge,
    ):
        await synced(edge, central, {"lp": 5})
        await central.head({"lp": 5})
        await central.announce(True)

        async def reasons() -> list[str]:
            return list(body(await edge.get("/lookup/lp/LP1"))["stale_reasons"])

        async def fresh() -> bool:
            return await reasons() == []

        await until(fresh, "a fresh answer")
        await central.announce(False)

        async def central_away() -> bool:
            return await reasons() == ["central_offline"]

        await until(central_away, "central_offline")
        broker.kill()

        async def broker_away() -> bool:
            return await reasons() == ["broker_offline"]

        await until(broker_away, "broker_offline")
        answer = body(await edge.get("/lookup/lp/LP1"))
        assert answer["stale"] is True and answer["data"]["number"] == "LP1", "still answered"


async def test_tasks_for_a_station_follow_its_locations_in_wave_and_sequence_order(
    broker: KillableBroker, tmp_path: Path, site: str
) -> None:
    def task(number: str, wave: str, sequence: int, location: str, status: str = "open") -> dict:
        return {
            "number": number,
            "wave": wave,
            "order": "SO-1",
            "sequence": sequence,
            "product": "P-100",
            "lp": "LP1",
            "location": location,
            "to_location": "DOCK",
            "qty": "1",
            "qty_picked": "0",
            "status": status,
            "assignee": None,
        }

    tasks = [
        task("T4", "W2", 1, "A-02"),
        task("T1", "W1", 2, "A-01"),
        task("T2", "W1", 1, "B-01"),
        task("T3", "W1", 3, "A-03", status="done"),
        task("T5", "W1", 1, "A-09"),
    ]
    async with (
        ScriptedCentral(broker.url, site) as central,
        running_edge(edge_config(tmp_path, site, broker.url)) as edge,
    ):
        request = await central.wait_requests(1)
        await central.answer(request, {"task": [item(t["number"], t) for t in tasks]}, {"task": 4})
        await until(lambda: edge.follower.snapshots == 1, "the snapshot")
        at_a = body(await edge.get("/tasks?station=pick-a"))
        assert [t["number"] for t in at_a["tasks"]] == ["T5", "T1", "T4"]
        everywhere = body(await edge.get("/tasks?station=pick-x"))
        assert [t["number"] for t in everywhere["tasks"]] == ["T2", "T5", "T1", "T4"]
        assert [t["number"] for t in body(await edge.get("/tasks"))["tasks"]][0] == "T2"
        unknown = await edge.get("/tasks?station=nowhere")
        assert unknown.status_code == 404 and body(unknown)["code"] == "STATION_NOT_FOUND"


async def test_a_consumed_lp_leaves_the_cache_after_its_keep_time(
    broker: KillableBroker, tmp_path: Path, site: str
) -> None:
    # Kept no time at all, pruned every 0.2 s: the consumed LP goes at the next prune.
    config = edge_config(tmp_path, site, broker.url, ref_lp_keep_hours=0)
    async with (
        ScriptedCentral(broker.url, site) as central,
        running_edge(config, prune_interval=0.2) as edge,
    ):
        await synced(edge, central, {"lp": 5})
        await central.publish(
            central.delta("lp", 6, [item("LP7", lp("LP7")), item("LP8", lp("LP8"))])
        )
        await central.publish(central.delta("lp", 7, [item("LP7", lp("LP7", status="consumed"))]))
        await until(lambda: edge.follower.applied == 2, "the deltas")

        async def gone() -> bool:
            return (await edge.get("/lookup/lp/LP7")).status_code == 404

        await until(gone, "the consumed LP to leave")
        assert (await edge.get("/lookup/lp/LP8")).status_code == 200, "a live LP stays"
        assert (await edge.get("/lookup/lp/LP1")).status_code == 200


async def test_a_shipment_is_looked_up_and_leaves_once_dispatched(
    broker: KillableBroker, tmp_path: Path, site: str
) -> None:
    # Ended records kept no time at all, pruned every 0.2 s: the dispatched one goes next.
    config = edge_config(tmp_path, site, broker.url, ref_done_keep_hours=0)
    async with (
        ScriptedCentral(broker.url, site) as central,
        running_edge(config, prune_interval=0.2) as edge,
    ):
        await synced(edge, central, {"lp": 5})
        loading = {
            "number": "SH-1",
            "status": "loading",
            "order": "SO-1",
            "orders": ["SO-1"],
            "carrier": None,
            "planned_date": None,
            "planned": ["LP1", "LP2"],
            "loaded": ["LP1"],
            "dispatched_at": None,
        }
        await central.publish(
            central.delta("shipment", 6, [item("SH-1", loading), item("SH-2", loading)])
        )
        await until(lambda: edge.follower.applied == 1, "the shipment delta")
        found = body(await edge.get("/lookup/shipment/SH-1"))
        assert (found["kind"], found["key"], found["data"]) == ("shipment", "SH-1", loading)
        missing = await edge.get("/lookup/shipment/SH-9")
        assert missing.status_code == 404
        assert "shipment SH-9 is not in this edge's reference cache" in body(missing)["message"]

        gone = {**loading, "status": "dispatched", "dispatched_at": "2026-12-02T10:00:00.000Z"}
        await central.publish(central.delta("shipment", 7, [item("SH-1", gone)]))
        await until(lambda: edge.follower.applied == 2, "the dispatch")

        async def left() -> bool:
            return (await edge.get("/lookup/shipment/SH-1")).status_code == 404

        await until(left, "the dispatched shipment to leave")
        assert (await edge.get("/lookup/shipment/SH-2")).status_code == 200, "an open one stays"


async def test_a_later_kind_is_asked_for_only_once_centrals_head_lists_it(
    broker: KillableBroker, tmp_path: Path, site: str
) -> None:
    older = tuple(k for k in REF_KINDS if k != "shipment")
    async with (
        ScriptedCentral(broker.url, site) as central,
        running_edge(edge_config(tmp_path, site, broker.url)) as edge,
    ):
        await central.announce(True)
        await central.head(dict.fromkeys(older, 0))
        first = await central.wait_requests(1)
        assert first.kinds == [], "the first kinds, as an older edge asks: every central answers"
        await central.answer(first, {"lp": [item("LP1", lp("LP1"))]}, {}, published=older)
        await until(lambda: edge.follower.snapshots == 1, "the snapshot to be swapped in")
        # Messages are handled in order: once this delta is in, the snapshot was dealt with.
        await central.publish(central.delta("lp", 3, [item("LP2", lp("LP2"))]))
        await until(lambda: edge.follower.applied == 1, "the delta after the snapshot")
        assert edge.follower.status()["snapshot_pending"] == []
        assert edge.follower.snapshot_requests == 1, "the older central is not asked again"
        lookup = await edge.get("/lookup/shipment/SH-1")
        assert lookup.status_code == 404
        assert body(lookup)["details"]["stale_reasons"] == ["never_synced"]

        # Central upgraded: its head lists shipments, and the edge fetches them whole.
        await central.head({**dict.fromkeys(older, 0), "lp": 3, "shipment": 0})
        second = await central.wait_requests(2)
        assert second.kinds == ["shipment"]
        shipment = {"number": "SH-1", "status": "planned", "planned": [], "loaded": []}
        await central.answer(second, {"shipment": [item("SH-1", shipment)]}, {"shipment": 0})
        await until(lambda: edge.follower.snapshots == 2, "the shipments to be swapped in")
        found = body(await edge.get("/lookup/shipment/SH-1"))
        assert found["data"] == shipment and found["stale"] is False

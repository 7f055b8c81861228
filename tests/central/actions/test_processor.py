"""The apply path: refusals, duplicates, seq gaps, late replays, and two centrals racing."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

from central.actions.processor import ActionProcessor
from central.db.engine import make_engine
from protocol import MAX_MESSAGE_BYTES, AckResult, encode_batch
from tests.central.conftest import EDGE, SITE, Central


def receipt(c: Central, lp: str, **over: object) -> dict:
    """A signed lp.receive of 5 kg RAW-1 into RECV."""
    return c.env(
        "lp.receive",
        {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV", "lp": lp},
        **over,
    )  # type: ignore[arg-type]


async def test_duplicate_is_applied_once_and_repeats_the_first_outcome(seeded: Central) -> None:
    env = receipt(seeded, "LP-1")
    first = await seeded.send_one(env)
    again = await seeded.send_one(env)
    assert first.result == AckResult.APPLIED
    assert (again.result, again.original, again.message) == (
        AckResult.DUPLICATE,
        AckResult.APPLIED,
        first.message,
    )
    assert await seeded.count("stock_moves") == 1
    assert await seeded.count("processed_actions") == 1


async def test_duplicate_of_a_conflict_carries_the_conflict(seeded: Central) -> None:
    env = seeded.env("lp.move", {"lp": "NOPE", "to_location": "A-01"})
    first = await seeded.send_one(env)
    again = await seeded.send_one(env)
    assert (again.result, again.original, again.code, again.conflict_id) == (
        AckResult.DUPLICATE,
        AckResult.CONFLICT,
        "LP_NOT_FOUND",
        first.conflict_id,
    )
    assert await seeded.count("conflicts") == 1


async def test_same_id_twice_in_one_batch(seeded: Central) -> None:
    env = receipt(seeded, "LP-1")
    acks = await seeded.send(env, env)
    assert [a.result for a in acks] == [AckResult.APPLIED, AckResult.DUPLICATE]
    assert acks[1].original == AckResult.APPLIED
    assert await seeded.count("stock_moves") == 1


async def test_batch_acks_in_order_and_applies_in_seq_order(seeded: Central) -> None:
    batch = [
        receipt(seeded, "LP-1"),
        seeded.env("lp.move", {"lp": "LP-1", "to_location": "A-01"}),
        seeded.env("lp.move", {"lp": "NOPE", "to_location": "A-01"}),
        seeded.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001"}),
    ]
    acks = await seeded.send(*batch)
    assert [a.id for a in acks] == [e["id"] for e in batch]
    assert [a.seq for a in acks] == [1, 2, 3, 4]
    assert [a.result for a in acks] == [
        AckResult.APPLIED,
        AckResult.APPLIED,
        AckResult.CONFLICT,
        AckResult.APPLIED,
    ]
    kinds = await seeded.rows("SELECT kind FROM stock_moves ORDER BY id")
    assert [k for (k,) in kinds] == ["RECEIPT", "TRANSFER_OUT", "TRANSFER_IN", "CONSUME"]
    assert await seeded.rows("SELECT last_seq FROM edges") == [(4,)]


async def rejected(c: Central, payload: bytes, code: str, *, edge: str = EDGE) -> None:
    """The message is refused with ``code``, kept in rejected_actions, and nothing applies."""
    before = await c.count("rejected_actions")
    acks = await c.processor.process_message(payload, topic_site=SITE, topic_edge=edge, via="mqtt")
    assert [(a.result, a.code) for a in acks] == [(AckResult.REJECTED, code)]
    assert acks[0].message
    assert await c.count("rejected_actions") == before + 1
    assert await c.count("processed_actions") == 0
    assert await c.count("stock_moves") == 0
    assert await c.count("license_plates") == 0


async def test_rejections(seeded: Central) -> None:
    await seeded.provision("edge-2")
    tampered = receipt(seeded, "LP-T")
    tampered["body"]["qty"] = "500"
    await rejected(seeded, encode_batch([tampered]), "BAD_SIGNATURE")
    other = receipt(seeded, "LP-W", edge="edge-2")
    await rejected(seeded, encode_batch([other]), "WRONG_EDGE")
    stranger = receipt(seeded, "LP-S", edge="edge-9", secret="s" * 43)
    await rejected(seeded, encode_batch([stranger]), "UNKNOWN_EDGE", edge="edge-9")
    unknown = receipt(seeded, "LP-U")
    unknown["type"] = "lp.teleport"
    await rejected(seeded, encode_batch([unknown]), "UNKNOWN_ACTION_TYPE")
    future = receipt(seeded, "LP-V")
    future["v"] = 2
    await rejected(seeded, encode_batch([future]), "UNSUPPORTED_VERSION")
    bad_body = receipt(seeded, "LP-B")
    bad_body["body"]["qty"] = 5
    await rejected(seeded, encode_batch([bad_body]), "BODY_INVALID")
    await rejected(seeded, b'[{"v": 1, "id": ', "MALFORMED_JSON")
    await rejected(seeded, b'{"not": "an array"}', "BATCH_NOT_ARRAY")
    await rejected(seeded, b"[]", "BATCH_EMPTY")
    await rejected(seeded, b"[" + b" " * MAX_MESSAGE_BYTES + b"]", "MESSAGE_TOO_LARGE")
    await rejected(seeded, json.dumps([{}] * 201).encode(), "BATCH_TOO_LARGE")
    rows = await seeded.rows(
        "SELECT code, action_id, edge, length(raw) FROM rejected_actions ORDER BY id"
    )
    assert rows[0][:3] == ("BAD_SIGNATURE", tampered["id"], EDGE)
    assert all(size <= 64 * 1024 for *_, size in rows)


async def test_forged_envelope_with_a_real_id_does_not_block_the_real_one(seeded: Central) -> None:
    real = receipt(seeded, "LP-1")
    forged = {**real, "body": {**real["body"], "qty": "999"}}
    assert (await seeded.send_one(forged)).result == AckResult.REJECTED
    ack = await seeded.send_one(real)
    assert ack.result == AckResult.APPLIED
    assert await seeded.rows("SELECT qty FROM license_plates") == [(5_000_000,)]


async def test_one_bad_element_does_not_block_the_rest_of_its_batch(seeded: Central) -> None:
    good = receipt(seeded, "LP-1")
    bad = receipt(seeded, "LP-2")
    bad["sig"] = "0" * 64
    after = receipt(seeded, "LP-3")
    acks = await seeded.send(good, bad, after)
    assert [a.result for a in acks] == [AckResult.APPLIED, AckResult.REJECTED, AckResult.APPLIED]
    assert await seeded.count("stock_moves") == 2


async def test_seq_gap_raises_an_alarm_and_still_applies(seeded: Central) -> None:
    await seeded.send_one(receipt(seeded, "LP-1", seq=1))
    ack = await seeded.send_one(receipt(seeded, "LP-2", seq=5))
    assert ack.result == AckResult.APPLIED
    alarms = (await seeded.client.get("/api/v1/edges/alarms")).json()["items"]
    assert [(a["kind"], a["edge"]) for a in alarms] == [("SEQ_GAP", EDGE)]
    assert "2..4" in alarms[0]["detail"]
    await seeded.send_one(receipt(seeded, "LP-3", seq=6))
    assert await seeded.count("edge_alarms") == 1
    assert await seeded.rows("SELECT last_seq FROM edges") == [(6,)]


async def test_replayed_actions_are_marked_late(seeded: Central) -> None:
    old = receipt(seeded, "LP-1", ts=datetime.now(UTC) - timedelta(hours=3))
    live = receipt(seeded, "LP-2")
    await seeded.send(old, live)
    rows = await seeded.rows("SELECT action_id, late, via FROM processed_actions")
    assert {(a, bool(late), via) for a, late, via in rows} == {
        (old["id"], True, "mqtt"),
        (live["id"], False, "mqtt"),
    }
    occurred = await seeded.rows(
        "SELECT occurred_at, recorded_at FROM stock_moves WHERE action_id = :a", a=old["id"]
    )
    assert occurred[0][0] != occurred[0][1]


async def test_two_centrals_racing_on_the_same_batch_apply_it_once(
    seeded: Central, migrated_database_url: str
) -> None:
    """Two processes on one database get the same batch at once (a resend racing the first)."""
    batch = encode_batch(
        [receipt(seeded, f"LP-{n}") for n in range(20)]
        + [seeded.env("lp.receive", {"item": "RAW-1", "qty": "1", "uom": "kg", "location": "RECV"})]
    )
    other_engine = make_engine(migrated_database_url)
    try:
        other = ActionProcessor(other_engine, seeded.settings)
        results = await asyncio.gather(
            *[
                p.process_message(batch, topic_site=SITE, topic_edge=EDGE, via="mqtt")
                for p in (seeded.processor, other, seeded.processor, other)
            ]
        )
    finally:
        await other_engine.dispose()
    for acks in results:
        assert {a.result for a in acks} <= {AckResult.APPLIED, AckResult.DUPLICATE}
    applied = [a.id for acks in results for a in acks if a.result == AckResult.APPLIED]
    assert len(applied) == len(set(applied)) == 21
    assert await seeded.count("stock_moves") == 21
    assert await seeded.count("license_plates") == 21
    assert await seeded.count("processed_actions") == 21

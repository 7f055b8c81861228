"""The index of unacked actions by the values they name, over the edge's real queue file: new
actions are found, acked ones leave, a count's LPs and a lot are found too."""

from edge.pending_index import PendingIndex
from edge.queue import ActionQueue
from protocol import Ack, AckResult


async def enqueue(queue: ActionQueue, type: str, **body: object):  # type: ignore[no-untyped-def]
    return await queue.enqueue(type=type, station="pack-2", operator="op-1", body=dict(body))


async def ids(index: PendingIndex, *values: str) -> list[str]:
    return [envelope["id"] for envelope in await index.mentioning(list(values))]


async def test_actions_come_in_as_queued_and_leave_when_acked(queue: ActionQueue) -> None:
    index = PendingIndex(queue)
    first = await enqueue(queue, "lp.move", lp="LP1", to_location="A-01")
    await enqueue(queue, "lp.move", lp="LP2", to_location="A-01")
    assert await ids(index, "LP1") == [first.id]
    # Queued after the index was read: found on the next lookup.
    second = await enqueue(queue, "lp.split", lp="LP7", qty="1", new_lp="LP1")
    assert await ids(index, "LP1") == [first.id, second.id]
    await queue.apply_acks([Ack(id=first.id, seq=first.seq, result=AckResult.APPLIED)])
    assert await ids(index, "LP1") == [second.id], "an acked action is central's now"
    assert await ids(index, "LP9") == []


async def test_a_count_s_lps_and_a_lot_hold_are_found(queue: ActionQueue) -> None:
    index = PendingIndex(queue)
    count = await enqueue(
        queue, "count.record", session="C1", location="A-01", lps=[{"lp": "LP5", "qty": "3"}]
    )
    hold = await enqueue(queue, "qc.hold", lot="L-42", item="P-1", reason="DAMAGED")
    assert await ids(index, "LP5") == [count.id]
    assert await ids(index, "LP6", "L-42") == [hold.id]

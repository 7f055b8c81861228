"""Webhooks end to end: a real central process delivers to a real receiver process, is
SIGKILLed with a delivery in flight and with events committed but not yet delivered, and is
started again. Every event reaches the receiver; the repeats carry the webhook-id of their
event, so the receiver's dedup by it makes delivery exactly once; each subject's events arrive
in order; every request verifies with the ``standardwebhooks`` package."""

import asyncio
import json
import sys
from collections import defaultdict

import httpx

from central.db.engine import make_engine
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType
from harness import Proc, free_port, wait_for_port, wait_until
from harness.webhook_receiver import CONTROL, Received, read_record
from tests.e2e.stack import SITE, Stack

SUBJECTS = [f"LP-{i}" for i in range(5)]
# Short leases and polls so a SIGKILLed central's work is taken over within seconds.
CENTRAL_ENV = {
    "IOE_RELAY_POLL_SECONDS": "0.5",
    "IOE_RELAY_LEASE_SECONDS": "2",
    "IOE_WEBHOOK_TIMEOUT_SECONDS": "2",
    "IOE_WEBHOOK_RETRY_SCALE": "0.001",
    "IOE_WEBHOOK_POLL_SECONDS": "1",
}
# evt_1 hangs (the delivery in flight when central is killed); evt_2 fails once (a retry).
SCRIPT = {"messages": {"evt_1": [{"status": 200, "delay": 30}], "evt_2": [{"status": 500}]}}


def write(db_url: str, first: int, count: int) -> None:
    """Commit ``count`` lp.moved events, as floor actions would, from this process."""

    async def go() -> None:
        engine = make_engine(db_url)
        try:
            async with engine.begin() as conn:
                await write_events(
                    conn,
                    [
                        DomainEvent(
                            EventType.LP_MOVED,
                            SITE,
                            SUBJECTS[i % len(SUBJECTS)],
                            {"to": f"A-{i:02d}", "n": i},
                        )
                        for i in range(first, first + count)
                    ],
                )
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_every_event_reaches_the_receiver_once_across_central_kills(stack: Stack) -> None:
    port = free_port()
    record = stack.workdir / "received.db"
    receiver = Proc(
        [sys.executable, "-m", "harness.webhook_receiver", "--port", str(port),
         "--record", str(record), "--script", json.dumps(SCRIPT)],
        stack.workdir / "receiver.log",
    )  # fmt: skip
    try:
        wait_for_port(port)
        stack.central_env.update(CENTRAL_ENV)
        stack.start_central()
        made = stack.api(
            "POST",
            "/webhooks",
            json={"url": f"http://127.0.0.1:{port}/hook", "types": ["lp.*"], "sites": [SITE]},
        )
        httpx.put(f"http://127.0.0.1:{port}{CONTROL}", json={"secrets": [made["secret"]]})

        def got() -> list[Received]:
            return read_record(record)

        # 1. events committed; central dies while evt_1's delivery is in flight
        write(stack.db_url, 0, 20)
        wait_until(lambda: any(r.message_id == "evt_1" for r in got()), 30, what="evt_1 sent")
        stack.kill_central()
        # 2. more events commit while central is down: none of them fanned out yet
        write(stack.db_url, 20, 20)
        # 3. central again: everything arrives, evt_1 again with the same webhook-id
        stack.start_central()
        wait_until(lambda: len({r.message_id for r in got() if r.status == 200}) >= 40, 90,
                   what="all 40 events delivered")  # fmt: skip
        deliveries = stack.api("GET", f"/webhooks/{made['webhook']['id']}/deliveries?limit=100")
        assert len(deliveries["items"]) == 40  # one delivery per event, across the kill
        wait_until(
            lambda: all(
                d["status"] == "delivered"
                for d in stack.api(
                    "GET", f"/webhooks/{made['webhook']['id']}/deliveries?limit=100"
                )["items"]
            ),
            30,
            what="every delivery recorded as delivered",
        )
    finally:
        receiver.stop()
    check(read_record(record), total=40)


def check(received: list[Received], *, total: int) -> None:
    """Every event arrived, verified; repeats share their event's webhook-id; in order per
    subject."""
    assert all(r.verified for r in received), [r.error for r in received if not r.verified]
    by_id: dict[str, set[int]] = defaultdict(set)
    for r in received:
        by_id[r.message_id or ""].add(r.event()["id"])
    assert all(ids == {int(m.removeprefix("evt_"))} for m, ids in by_id.items())
    assert sorted(int(m.removeprefix("evt_")) for m in by_id) == list(range(1, total + 1))
    repeats = len(received) - len(by_id)
    # evt_1 was in flight at the kill, evt_2 was answered 500 once: at least those repeat
    assert repeats >= 2 and len([r for r in received if r.message_id == "evt_1"]) >= 2
    order: dict[str, list[int]] = defaultdict(list)
    for r in received:
        order[r.event()["subject"]].append(r.event()["id"])
    for subject, ids in order.items():
        assert ids == sorted(ids), (subject, ids)  # a repeat comes before anything later
    print(f"{len(received)} requests for {total} events: {repeats} repeats, deduplicated by id")

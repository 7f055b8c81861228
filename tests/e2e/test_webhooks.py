"""Webhooks end to end: a real central process delivers to a real receiver process the events
of floor actions posted to its `POST /api/v1/actions`; it is SIGKILLed with a delivery in
flight, a central without the relay then takes more actions (their events commit, none is
fanned out) and is SIGKILLed too, and central is started again. Every event reaches the
receiver; the repeats carry the webhook-id of their event, so the receiver's dedup by it makes
delivery exactly once; each subject's events arrive in order; every request verifies with the
``standardwebhooks`` package."""

import sys
from collections import defaultdict
from typing import Any

import httpx

from harness import Proc, free_port, wait_for_port, wait_until
from harness.stack import SITE, Stack
from harness.webhook_receiver import CONTROL, Received, read_record
from protocol import build_envelope

EDGE = "edge-hook"  # signs the envelopes; it runs no agent
SUBJECTS = [f"LP-{i}" for i in range(5)]
# Short leases and polls so a SIGKILLed central's work is taken over within seconds.
CENTRAL_ENV = {
    "IOE_RELAY_POLL_SECONDS": "0.5",
    "IOE_RELAY_LEASE_SECONDS": "2",
    "IOE_WEBHOOK_TIMEOUT_SECONDS": "2",
    "IOE_WEBHOOK_RETRY_SCALE": "0.001",
    "IOE_WEBHOOK_POLL_SECONDS": "1",
}
# A central that takes API calls and actions but neither relays nor delivers events.
NO_RELAY_ENV = {"IOE_RELAY": "0", "IOE_WEBHOOK_DELIVERY": "0"}


class Floor:
    """Floor actions as one edge signs them, posted in batches to central's REST door."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.secret = stack.edge_secret(EDGE)
        self.seq = 0

    def post(self, actions: list[tuple[str, dict[str, Any]]]) -> None:
        """One batch, applied in order; every action must apply."""
        batch = []
        for action_type, body in actions:
            self.seq += 1
            batch.append(
                build_envelope(
                    type=action_type,
                    site=SITE,
                    edge=EDGE,
                    station="dock",
                    operator="op-1",
                    seq=self.seq,
                    body=body,
                    secret=self.secret,
                )  # fmt: skip
            )
        acks = self.stack.api("POST", "/actions", json=batch)
        assert [a["result"] for a in acks] == ["applied"] * len(batch), acks

    def receive(self) -> None:
        """The LPs the moves are of, received at RECV."""
        body = {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV"}
        self.post([("lp.receive", {**body, "lp": lp}) for lp in SUBJECTS])

    def move(self, first: int, count: int) -> None:
        """``count`` lp.move actions in one batch, round the LPs, each LP between A-01 and A-02."""
        self.post(
            [
                ("lp.move", {"lp": SUBJECTS[i % 5], "to_location": f"A-0{1 + (i // 5) % 2}"})
                for i in range(first, first + count)
            ]
        )


def newest_event(stack: Stack, **params: str) -> int:
    items = stack.api("GET", "/events/history", params={"limit": 1, **params})["items"]
    return int(items[0]["id"]) if items else 0


def test_every_event_reaches_the_receiver_once_across_central_kills(stack: Stack) -> None:
    port = free_port()
    record = stack.workdir / "received.db"
    receiver = Proc(
        [sys.executable, "-m", "harness.webhook_receiver", "--port", str(port),
         "--record", str(record)],
        stack.workdir / "receiver.log",
    )  # fmt: skip
    try:
        wait_for_port(port)
        stack.central_env.update(CENTRAL_ENV)
        stack.start_central()
        stack.seed()
        stack.provision_edge(EDGE)
        floor = Floor(stack)
        floor.receive()
        # The receipts' events numbered: a subscription made now starts after them.
        wait_until(lambda: newest_event(stack, types="lp.created") > 0, 30, what="lp.created")
        made = stack.api(
            "POST",
            "/webhooks",
            json={"url": f"http://127.0.0.1:{port}/hook", "types": ["lp.*"], "sites": [SITE]},
        )
        after = newest_event(stack)
        # The moves' events come next: the first hangs (the delivery in flight when central is
        # killed), the second fails once (a retry).
        first = after + 1
        script = {"messages": {f"evt_{first}": [{"status": 200, "delay": 30}],
                               f"evt_{first + 1}": [{"status": 500}]}}  # fmt: skip
        control = httpx.put(
            f"http://127.0.0.1:{port}{CONTROL}",
            json={"secrets": [made["secret"]], "script": script},
        )
        assert control.status_code == 200

        def got() -> list[Received]:
            return read_record(record)

        # 1. 20 moves commit in one batch; central dies while the first one's delivery is in
        #    flight
        floor.move(0, 20)
        wait_until(lambda: any(r.message_id == f"evt_{first}" for r in got()), 30,
                   what="the first move's event sent")  # fmt: skip
        stack.kill_central()
        # 2. 20 more commit through a central that does not relay: none of them fanned out;
        #    it is killed too
        stack.central_env.update(NO_RELAY_ENV)
        stack.start_central()
        floor.move(20, 20)
        stack.kill_central()
        # Committed (the history below finds them), and fanned out to no endpoint yet: the
        # first 20 moves' deliveries are all there are.
        assert stack.sql("SELECT count(*) FROM webhook_deliveries") == [(20,)]
        # 3. central again: everything arrives, the first again with the same webhook-id
        for name in NO_RELAY_ENV:
            del stack.central_env[name]
        stack.start_central()
        # The relay numbers the waiting events first; one lp.moved per move, in commit order.
        wait_until(lambda: newest_event(stack) >= after + 40, 30, what="the events numbered")
        history = stack.api("GET", "/events/history", params={"types": "lp.*", "limit": 100})
        assert sorted(e["id"] for e in history["items"] if e["id"] > after) == list(
            range(first, first + 40)
        )
        wait_until(lambda: len({r.message_id for r in got() if r.status == 200}) >= 40, 90,
                   what="all 40 events delivered")  # fmt: skip
        deliveries = stack.api("GET", f"/webhooks/{made['webhook']['id']}/deliveries?limit=100")
        assert len(deliveries["items"]) == 40  # one delivery per event, across the kills
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
    check(read_record(record), first=first, total=40)


def check(received: list[Received], *, first: int, total: int) -> None:
    """Every event arrived, verified; repeats share their event's webhook-id; in order per
    subject."""
    assert all(r.verified for r in received), [r.error for r in received if not r.verified]
    by_id: dict[str, set[int]] = defaultdict(set)
    for r in received:
        by_id[r.message_id or ""].add(r.event()["id"])
    assert all(ids == {int(m.removeprefix("evt_"))} for m, ids in by_id.items())
    assert sorted(int(m.removeprefix("evt_")) for m in by_id) == list(range(first, first + total))
    repeats = len(received) - len(by_id)
    # the first was in flight at the kill, the second was answered 500 once: those repeat
    assert repeats >= 2 and len([r for r in received if r.message_id == f"evt_{first}"]) >= 2
    order: dict[str, list[int]] = defaultdict(list)
    for r in received:
        order[r.event()["subject"]].append(r.event()["id"])
    for subject, ids in order.items():
        assert ids == sorted(ids), (subject, ids)  # a repeat comes before anything later
    print(f"{len(received)} requests for {total} events: {repeats} repeats, deduplicated by id")

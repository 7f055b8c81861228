"""Webhook delivery to a real HTTP receiver: signed as Standard Webhooks, one delivery per
endpoint and event, retried on the spec's schedule, dead-lettered, in order per subject."""

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from central.access.callers import OPEN_CALLER
from central.db.engine import make_engine
from central.events.outbox import DomainEvent, write_events
from central.events.relay import EventRelay
from central.events.sequencer import sequence_all
from central.events.types import EventType
from central.webhooks.delivery import (
    MAX_ATTEMPTS,
    SCHEDULE,
    claim_due,
    retry_after,
    retry_delay,
)
from central.webhooks.fanout import WebhookFanout
from central.webhooks.secrets import WebhookSecretBox, new_secret
from central.webhooks.subscriptions import rotate_secret
from central.webhooks.worker import WebhookWorker, stopping
from harness.webhook_receiver import Received, Receiver
from tests.central.conftest import Central
from tests.central.webhooks.conftest import API, Hooks, moved


def headers_of(got: Received) -> dict[str, str]:
    """The signature headers a request arrived with."""
    return {
        "webhook-id": got.message_id or "",
        "webhook-timestamp": got.timestamp or "",
        "webhook-signature": got.signature or "",
    }


async def test_an_event_reaches_its_endpoint_signed(hooks: Hooks) -> None:
    webhook_id, secret = await hooks.subscribe(types=["lp.*"])
    hooks.receiver.configure(secrets=[secret])
    await hooks.emit(moved("LP-1"))
    assert await hooks.deliver() == 1
    (got,) = hooks.receiver.received
    assert got.verified, got.error  # standardwebhooks' own verification
    assert got.message_id == "evt_1" and got.path == "/hook"
    event = got.event()
    assert (event["id"], event["type"], event["subject"]) == (1, "lp.moved", "LP-1")
    assert event["payload"] == {"to": "A-01"} and event["site"] == "plant-1"
    assert abs(int(got.timestamp) - datetime.now(UTC).timestamp()) < 60
    (delivery,) = await hooks.deliveries(webhook_id)
    assert delivery["status"] == "delivered" and delivery["message_id"] == "evt_1"
    assert [t["status_code"] for t in delivery["tries"]] == [200]
    health = (await hooks.webhook(webhook_id))["health"]
    assert health["last_success_at"] is not None and health["consecutive_failures"] == 0
    # a tampered body, or another secret, does not verify
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(got.body.replace("LP-1", "LP-2"), headers_of(got))
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(new_secret()).verify(got.body, headers_of(got))


async def test_a_receiver_with_another_secret_refuses_the_delivery(hooks: Hooks) -> None:
    await hooks.subscribe()
    hooks.receiver.configure(secrets=[new_secret()])  # a forger's idea of the secret
    await hooks.emit(moved("LP-1"))
    await hooks.deliver()
    (got,) = hooks.receiver.received
    assert not got.verified and got.error == "No matching signature found"


async def test_each_event_becomes_one_delivery_per_matching_endpoint(hooks: Hooks) -> None:
    client = hooks.central.client
    lps, _ = await hooks.subscribe(types=["lp.*"], sites=["plant-1"])
    done, _ = await hooks.subscribe(types=["wo.completed"])  # every site (the open caller's)
    off, _ = await hooks.subscribe(enabled=False)
    await hooks.emit(
        moved("LP-1"),
        moved("LP-2", site="plant-2"),
        DomainEvent(EventType.WO_COMPLETED, "plant-2", "WO-1", {}),
        DomainEvent(EventType.ORDER_CREATED, "plant-1", "SO-1", {}),
    )
    late, _ = await hooks.subscribe()  # made after those events: gets none of them
    await hooks.relay.pass_once()
    # another relay (a replica) passing over the same events writes nothing more
    other = EventRelay(hooks.central.engine, hooks.settings, [WebhookFanout()], owner="other")
    await other.pass_once()
    rows = await hooks.central.rows(
        "SELECT webhook_id, event_id FROM webhook_deliveries ORDER BY webhook_id, event_id"
    )
    assert rows == [(lps, 1), (done, 3)]
    assert off and late
    await hooks.emit(moved("LP-3"))
    assert await hooks.central.count(f"webhook_deliveries WHERE webhook_id = {late}") == 1
    assert (await client.get(f"{API}/webhooks/{off}/deliveries")).json()["items"] == []


async def test_rotation_signs_with_both_secrets_during_the_overlap(hooks: Hooks) -> None:
    webhook_id, old = await hooks.subscribe()
    rotated = await hooks.central.client.post(f"{API}/webhooks/{webhook_id}/rotate-secret")
    new = rotated.json()["secret"]
    hooks.receiver.configure(secrets=[old])  # a receiver that has not switched yet
    await hooks.emit(moved("LP-1"))
    await hooks.deliver()
    (got,) = hooks.receiver.received
    assert got.verified and len(got.signature.split(" ")) == 2
    Webhook(new).verify(got.body, headers_of(got))  # a receiver that has switched
    Webhook(old).verify(got.body, headers_of(got))


async def test_after_the_overlap_only_the_new_secret_signs(
    central: Central, receiver: tuple[Receiver, str]
) -> None:
    hooks = Hooks(central, *receiver)
    await hooks.relay.pass_once()
    webhook_id, old = await hooks.subscribe()
    async with central.engine.begin() as conn:  # a central whose overlap is none
        made = await rotate_secret(
            conn,
            caller=OPEN_CALLER,
            box=WebhookSecretBox(hooks.settings.load_master_key()),
            webhook_id=webhook_id,
            overlap_hours=0,
        )
    await hooks.emit(moved("LP-1"))
    await hooks.deliver()
    (got,) = hooks.receiver.received
    assert len(got.signature.split(" ")) == 1
    Webhook(made.secret).verify(got.body, headers_of(got))
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(got.body, headers_of(got))
    await hooks.http.aclose()


async def test_a_500_is_retried_with_the_same_webhook_id(hooks: Hooks) -> None:
    webhook_id, secret = await hooks.subscribe()
    hooks.receiver.configure(secrets=[secret], script={"nth": [{"status": 500}]})
    await hooks.emit(moved("LP-1"))
    await hooks.deliver()
    (delivery,) = await hooks.deliveries(webhook_id)
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    assert delivery["last_status"] == 500 and "HTTP 500" in delivery["last_error"]
    health = (await hooks.webhook(webhook_id))["health"]
    assert health["consecutive_failures"] == 1 and health["last_failure_at"] is not None
    await hooks.deliver_until_settled()
    first, second = hooks.receiver.received
    assert (first.status, second.status) == (500, 200)
    assert first.message_id == second.message_id == "evt_1" and second.verified
    (delivery,) = await hooks.deliveries(webhook_id)
    assert delivery["status"] == "delivered"
    assert [t["status_code"] for t in delivery["tries"]] == [500, 200]
    assert all(t["latency_ms"] >= 0 for t in delivery["tries"])
    assert (await hooks.webhook(webhook_id))["health"]["consecutive_failures"] == 0


async def test_a_timeout_counts_as_a_failure(
    central: Central, receiver: tuple[Receiver, str]
) -> None:
    hooks = Hooks(central, *receiver, webhook_timeout_seconds=0.3)
    await hooks.relay.pass_once()
    webhook_id, _ = await hooks.subscribe()
    hooks.receiver.configure(script={"nth": [{"status": 200, "delay": 1.5}]})
    await hooks.emit(moved("LP-1"))
    await hooks.deliver()
    (delivery,) = await hooks.deliveries(webhook_id)
    assert delivery["status"] == "pending"
    (attempt,) = delivery["tries"]
    assert attempt["status_code"] is None and attempt["error"] == "no answer within 0.3 s"
    assert 250 <= attempt["latency_ms"] < 1500
    await hooks.deliver_until_settled()
    assert [r.arrival for r in hooks.receiver.received] == [0, 1]
    await hooks.http.aclose()


async def test_retry_after_is_respected_when_longer(hooks: Hooks) -> None:
    webhook_id, _ = await hooks.subscribe()
    hooks.receiver.configure(script={"nth": [{"status": 503, "retry_after": "120"}]})
    await hooks.emit(moved("LP-1"))
    before = datetime.now(UTC)
    await hooks.deliver()
    (delivery,) = await hooks.deliveries(webhook_id)
    due = datetime.fromisoformat(delivery["next_attempt_at"])
    assert due >= before + timedelta(seconds=119)  # not the schedule's (scaled) microseconds
    assert await hooks.deliver() == 0  # not due yet
    # both forms of the header: delay-seconds and an HTTP date
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert retry_after("30", at) == 30
    assert retry_after("Tue, 01 Dec 2026 12:02:00 GMT", at) == 120
    assert retry_after("soon", at) is None and retry_after(None, at) is None


async def test_410_gone_disables_the_endpoint(hooks: Hooks) -> None:
    webhook_id, _ = await hooks.subscribe()
    hooks.receiver.configure(script={"default": {"status": 410}})
    await hooks.emit(moved("LP-1"))
    await hooks.deliver()
    (delivery,) = await hooks.deliveries(webhook_id)
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    hook = await hooks.webhook(webhook_id)
    assert hook["enabled"] is False and "410 Gone" in hook["disabled_reason"]
    await hooks.emit(moved("LP-2"))  # a disabled endpoint is sent nothing more
    assert len(await hooks.deliveries(webhook_id)) == 1
    again = await hooks.central.client.patch(f"{API}/webhooks/{webhook_id}", json={"enabled": True})
    assert again.json()["enabled"] is True and again.json()["disabled_reason"] is None


async def test_dead_letter_after_the_last_retry_then_a_retry_by_hand(hooks: Hooks) -> None:
    webhook_id, _ = await hooks.subscribe()
    # evt_1 fails every try of the schedule; evt_2 (same LP) waits for it, then goes
    hooks.receiver.configure(script={"messages": {"evt_1": [{"status": 500}] * MAX_ATTEMPTS}})
    await hooks.emit(moved("LP-1"), moved("LP-1", to="A-02"))
    await hooks.deliver_until_settled()
    ids = [r.message_id for r in hooks.receiver.received]
    assert ids == ["evt_1"] * MAX_ATTEMPTS + ["evt_2"]  # the dead letter no longer blocks
    failed = await hooks.deliveries(webhook_id, status="failed")
    (dead,) = failed
    assert dead["message_id"] == "evt_1" and dead["attempts"] == MAX_ATTEMPTS
    assert len(dead["tries"]) == MAX_ATTEMPTS and dead["next_attempt_at"] is None
    path = f"{API}/webhooks/{webhook_id}/deliveries"
    refused = await hooks.central.client.post(f"{path}/{dead['id'] + 1}/retry")
    assert refused.status_code == 422 and refused.json()["code"] == "DELIVERY_NOT_FAILED"
    retried = await hooks.central.client.post(f"{path}/{dead['id']}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    await hooks.deliver_until_settled()
    last = hooks.receiver.received[-1]
    assert (last.message_id, last.status) == ("evt_1", 200)
    (done,) = [d for d in await hooks.deliveries(webhook_id) if d["message_id"] == "evt_1"]
    assert done["status"] == "delivered" and len(done["tries"]) == MAX_ATTEMPTS + 1


async def test_one_subject_is_delivered_in_order_while_its_first_is_retried(
    hooks: Hooks,
) -> None:
    await hooks.subscribe()
    hooks.receiver.configure(script={"messages": {"evt_1": [{"status": 500}, {"status": 500}]}})
    await hooks.emit(moved("LP-1"), moved("LP-1", to="A-02"), moved("LP-2"))
    await hooks.deliver()
    first_pass = [r.message_id for r in hooks.receiver.received]
    assert sorted(first_pass) == ["evt_1", "evt_3"]  # evt_2 waits behind evt_1; LP-2 does not
    await hooks.deliver_until_settled()
    lp1 = [r.message_id for r in hooks.receiver.received if r.event()["subject"] == "LP-1"]
    assert lp1 == ["evt_1", "evt_1", "evt_1", "evt_2"]


async def test_the_worker_wakes_on_the_fan_outs_commit_without_polling(
    central: Central, receiver: tuple[Receiver, str]
) -> None:
    # polls a minute apart: only the wake of the fan-out's commit delivers within seconds
    hooks = Hooks(central, *receiver, relay_poll_seconds=60, webhook_poll_seconds=60)
    await hooks.relay.pass_once()
    await hooks.subscribe()
    worker = WebhookWorker(central.engine, hooks.settings)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.2)  # asleep on its pulse
        # the events come from another process's engine (no wake here), numbered there too
        other = make_engine(central.settings.db_url)
        async with other.begin() as conn:
            await write_events(conn, [moved("LP-1")])
        await sequence_all(other)
        await other.dispose()
        await asyncio.sleep(0.2)
        assert hooks.receiver.received == []
        await hooks.relay.pass_once()  # the fan-out: its commit is the only wake
        for _ in range(300):
            if hooks.receiver.received:
                break
            await asyncio.sleep(0.05)
        assert [r.message_id for r in hooks.receiver.received] == ["evt_1"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await hooks.http.aclose()


async def test_a_new_webhook_gets_only_events_numbered_after_it(hooks: Hooks) -> None:
    async with hooks.central.engine.begin() as conn:
        await write_events(conn, [moved("LP-1")])
    await sequence_all(hooks.central.engine)  # numbered, not yet handed to the fan-out
    webhook_id, _ = await hooks.subscribe()
    await hooks.emit(moved("LP-2"))
    assert [d["message_id"] for d in await hooks.deliveries(webhook_id)] == ["evt_2"]


def test_the_retry_schedule_is_the_specs_with_full_jitter() -> None:
    assert SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    rng = random.Random(7)
    for failed in range(1, MAX_ATTEMPTS):
        waits = [retry_delay(failed, rng=rng) or 0.0 for _ in range(200)]
        assert all(0 <= w <= SCHEDULE[failed] for w in waits)
        assert max(waits) > SCHEDULE[failed] * 0.8
        assert min(waits) < SCHEDULE[failed] * 0.2
    assert retry_delay(MAX_ATTEMPTS) is None
    assert (retry_delay(2, scale=0.001, rng=rng) or 0.0) <= 0.3


async def test_a_ping_reaches_the_endpoint_signed(hooks: Hooks) -> None:
    webhook_id, secret = await hooks.subscribe()
    hooks.receiver.configure(secrets=[secret])
    queued = await hooks.central.client.post(f"{API}/webhooks/{webhook_id}/test")
    assert queued.status_code == 202 and queued.json()["status"] == "pending"
    assert await hooks.deliver() == 1
    (got,) = hooks.receiver.received
    assert got.verified and got.message_id == queued.json()["message_id"]
    assert got.event()["type"] == "webhook.ping" and got.event()["payload"]["webhook"] == webhook_id


async def test_a_cancelled_worker_stops_whatever_it_was_doing(
    central: Central, receiver: tuple[Receiver, str]
) -> None:
    # cancelled at many points of its loop, mid-statement too: it must stop every time
    hooks = Hooks(central, *receiver, webhook_poll_seconds=60)
    await hooks.relay.pass_once()
    await hooks.subscribe()
    await hooks.emit(*(moved(f"LP-{i}") for i in range(40)))
    for i in range(60):
        worker = WebhookWorker(central.engine, hooks.settings, owner=f"w-{i}")
        task = asyncio.create_task(worker.run())
        for _ in range(i):  # cancelled after i turns of the event loop
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=10)
        assert done, f"worker {i} kept running after its cancel"
    await hooks.http.aclose()


async def test_a_database_error_in_place_of_a_cancel_still_stops_the_worker() -> None:
    async def loop_body() -> str:
        try:
            try:
                await asyncio.sleep(60)  # a statement, when the cancel arrives
            except asyncio.CancelledError:  # whose rollback then fails: another error
                raise RuntimeError("the rollback failed") from None
        except Exception:  # the worker's "log, wait, try again"
            stopping()
        return "kept running"

    task = asyncio.create_task(loop_body())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_two_replicas_never_claim_the_same_delivery(hooks: Hooks) -> None:
    await hooks.subscribe()
    await hooks.emit(*(moved(f"LP-{i}") for i in range(60)))
    box = WebhookSecretBox(hooks.settings.load_master_key())
    other = make_engine(hooks.central.settings.db_url)  # another replica's pool
    try:
        claims = await asyncio.gather(
            *(
                claim_due(engine, box, owner=f"replica-{n}", limit=10, lease_seconds=60)
                for n, engine in enumerate([hooks.central.engine, other] * 4)
            )
        )
    finally:
        await other.dispose()
    ids = [c.id for claimed in claims for c in claimed]
    assert len(ids) == len(set(ids)) == 60  # every one claimed, none twice
    owners = await hooks.central.rows(
        "SELECT count(DISTINCT lease_owner) FROM webhook_deliveries WHERE lease_owner IS NOT NULL"
    )
    assert owners[0][0] >= 2

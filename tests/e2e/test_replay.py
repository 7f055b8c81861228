"""End to end with real processes: outages, SIGKILLs and lost acks lose nothing, double nothing."""

import asyncio
import sqlite3
import threading

import asyncpg

from harness import FaultyLink, wait_until
from harness.stack import SITE, KillableBroker, Stack
from protocol.topics import act_topic
from runtime.mqtt import MqttConnection

EDGE = "edge-1"


def test_broker_down_at_start_then_1000_actions_applied_exactly_once(
    stack: Stack, broker: KillableBroker
) -> None:
    stack.start_central()  # the broker is down: central serves its API and keeps retrying
    assert not stack.central_ready(), "readyz must say not ready while MQTT is down"
    stack.seed()
    stack.provision_edge(EDGE)
    stack.start_edge(EDGE)
    ids = stack.enqueue_receipts(EDGE, 1000)
    queue = stack.queue(EDGE)
    assert queue["depth"] == 1000 and queue["broker_connected"] is False
    assert stack.receipts() == 0

    broker.start()
    stack.wait_drained(EDGE, 1000)
    stack.assert_exactly_once(ids)
    counts = stack.queue(EDGE)["counts"]
    assert counts.get("applied", 0) + counts.get("duplicate", 0) == 1000, counts
    assert {stack.action_state(EDGE, i)["state"] for i in (ids[0], ids[-1])} <= {
        "applied",
        "duplicate",
    }
    wait_until(stack.central_ready, 30, what="central ready once MQTT is up")


def _backlog(stack: Stack, broker: KillableBroker, count: int) -> list[str]:
    """An edge holding ``count`` queued actions while central is stopped."""
    broker.start()
    stack.start_central()
    stack.seed()
    stack.provision_edge(EDGE)
    assert stack.central is not None
    stack.central.terminate()  # a clean stop publishes central offline: the edge holds
    stack.central = None
    ids = stack.enqueue_offline(EDGE, count)
    stack.start_edge(EDGE)
    assert stack.queue(EDGE)["depth"] == count
    return ids


def _wait_mid_replay(stack: Stack, total: int) -> int:
    done = 0

    def some_applied() -> bool:
        nonlocal done
        done = stack.receipts()
        return done > 0

    wait_until(some_applied, 120, interval=0.02, what="the replay to start")
    assert done < total, f"replay finished ({done}) before the fault could be injected"
    return done


def test_edge_sigkill_in_the_middle_of_a_replay(stack: Stack, broker: KillableBroker) -> None:
    ids = _backlog(stack, broker, 3000)
    stack.start_central()
    _wait_mid_replay(stack, 3000)
    stack.kill_edge(EDGE)  # SIGKILL: no goodbye, batch in flight, acks unrecorded
    stack.start_edge(EDGE)
    stack.wait_drained(EDGE, 3000)
    stack.assert_exactly_once(ids)
    counts = stack.queue(EDGE)["counts"]
    assert counts.get("applied", 0) + counts.get("duplicate", 0) == 3000, counts


def test_central_sigkill_in_the_middle_of_a_batch(stack: Stack, broker: KillableBroker) -> None:
    ids = _backlog(stack, broker, 3000)
    stack.start_central()
    _wait_mid_replay(stack, 3000)
    stack.kill_central()  # SIGKILL mid-transaction: that batch rolls back, its ack never goes
    wait_until(
        lambda: not stack.queue(EDGE)["central_online"],
        30,
        what="the edge to learn of central's death (its will)",
    )
    stack.start_central()
    stack.wait_drained(EDGE, 3000, timeout=180)
    stack.assert_exactly_once(ids)


class TopicWatch:
    """Sees the first message on a topic, straight from the broker (not through the proxy)."""

    def __init__(self, mqtt_url: str, topic: str) -> None:
        self.mqtt_url, self.topic = mqtt_url, topic
        self.subscribed = threading.Event()
        self.seen = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._watch(),), daemon=True)
        self._thread.start()
        assert self.subscribed.wait(10), f"no subscription to {topic}"

    async def _watch(self) -> None:
        async with await MqttConnection.open(self.mqtt_url) as conn:
            await conn.subscribe(self.topic)
            self.subscribed.set()
            async for message in conn.messages():
                # Only the topic asked for: the embedded broker was seen to hand this
                # subscriber the edge's retained presence too.
                if message.topic == self.topic:
                    self.seen.set()
                    return

    def wait(self, timeout: float) -> None:
        assert self.seen.wait(timeout), f"nothing published on {self.topic}"
        self._thread.join(10)


class DatabaseWriteLock:
    """Holds central's writes back (readers still pass) to open a window inside a batch."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._sqlite: sqlite3.Connection | None = None
        self._pg: asyncpg.Connection | None = None
        self._loop = asyncio.new_event_loop()

    def acquire(self) -> None:
        if self.db_url.startswith("sqlite"):
            self._sqlite = sqlite3.connect(self.db_url.split("///", 1)[1], isolation_level=None)
            self._sqlite.execute("BEGIN IMMEDIATE")
        else:
            dsn = self.db_url.replace("postgresql+asyncpg://", "postgresql://", 1)
            self._pg = self._loop.run_until_complete(asyncpg.connect(dsn))
            self._loop.run_until_complete(
                self._pg.execute("BEGIN; LOCK TABLE processed_actions IN EXCLUSIVE MODE")
            )

    def release(self) -> None:
        if self._sqlite is not None:
            self._sqlite.execute("ROLLBACK")
            self._sqlite.close()
        if self._pg is not None:
            self._loop.run_until_complete(self._pg.execute("ROLLBACK"))
            self._loop.run_until_complete(self._pg.close())
        self._loop.close()


def test_lost_ack_means_resend_answered_duplicate_applied_once(
    stack: Stack, broker: KillableBroker
) -> None:
    broker.start()
    proxy = FaultyLink(broker.port)  # the edge reaches the broker only through this
    try:
        stack.start_central()
        stack.seed()
        stack.provision_edge(EDGE, ack_timeout=30)
        text = stack.edge_configs[EDGE].read_text().replace(broker.url, proxy.url)
        stack.edge_configs[EDGE].write_text(text)
        stack.start_edge(EDGE)
        wait_until(lambda: stack.queue(EDGE)["central_online"], 30, what="edge sees central")

        published = TopicWatch(broker.url, act_topic(SITE, EDGE))
        lock = DatabaseWriteLock(stack.db_url)
        lock.acquire()
        try:
            [action] = stack.enqueue_receipts(EDGE, 1)
            # On the broker, so on its way to central, which now waits on the lock.
            published.wait(10)
            assert stack.action_state(EDGE, action)["state"] == "sent"
            proxy.drop(refuse=True)  # the edge goes away before the ack can come back
        finally:
            lock.release()
        wait_until(
            lambda: stack.sql("SELECT count(*) FROM processed_actions")[0][0] == 1,
            30,
            what="central to apply the first copy (its ack is lost)",
        )
        assert stack.action_state(EDGE, action)["state"] == "sent"

        proxy.accept_again()  # the edge reconnects and sends the unacked batch again
        wait_until(
            lambda: stack.action_state(EDGE, action)["state"] != "sent",
            60,
            what="the resent batch to be acked",
        )
        assert stack.action_state(EDGE, action)["state"] == "duplicate"
        stack.assert_exactly_once([action])
    finally:
        proxy.close()

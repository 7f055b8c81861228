"""The sync protocol against its reference model, under random faults (Hypothesis, stateful).

The real edge queue (a SQLite file) and the real central apply path (``ActionProcessor`` on a
migrated database) are joined by a network this test controls: a batch or an ack in flight
may be delivered, lost, delivered twice or delivered out of order after a reconnect; the
edge and central may restart between any two steps. The edge's side follows the sync loop's
rules (one batch in flight, oldest first, sent again after a lost ack, a reconnect, an edge
restart or central coming back). After every step no final state has changed and every
final state agrees with central and with the model; at the end, after draining without
faults, every action is final once, its ledger rows are there once, and ``ioe db check``
passes.

Bounded for CI (about 40 runs of 30 steps). Longer runs:
``IOE_SYNC_MODEL_EXAMPLES=1000 IOE_SYNC_MODEL_STEPS=80 pytest tests/e2e/test_sync_model.py``.
"""

import asyncio
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from central.actions.processor import ActionProcessor
from central.db.engine import make_engine
from central.inventory.consistency import check
from central.settings import CentralSettings
from edge.queue import ActionQueue
from edge.queue_schema import FINAL_STATES
from edge.sync import SyncLoop
from protocol import batch_ack, read_acks
from tests.central.conftest import EDGE, SITE, Central
from tests.conftest import PgWorkDatabase, migrated_sqlite_copy
from tests.e2e.sync_reference import KNOWN_LOCATIONS, ReferenceModel, edge_agrees

EXAMPLES = int(os.environ.get("IOE_SYNC_MODEL_EXAMPLES", "40"))
STEPS = int(os.environ.get("IOE_SYNC_MODEL_STEPS", "30"))
BATCH_SIZE = 3  # small, so a run has several batches and partial overlaps between resends
LP_NUMBERS = ("LP9001", "LP9002", "LP9003")  # few, so receives collide and moves find them
START = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


class Database:
    """Where each run's central lives: a fresh copy of the migrated SQLite file, or the
    session's PostgreSQL work database put back to its migrated state."""

    def __init__(self, template: Path | None = None, pg: PgWorkDatabase | None = None) -> None:
        self.template, self.pg = template, pg

    async def fresh(self, directory: Path) -> str:
        if self.pg is not None:
            await self.pg.reset()
            return self.pg.url
        assert self.template is not None
        return migrated_sqlite_copy(self.template, directory)


class SyncModel(RuleBasedStateMachine):
    """One edge and one central, the network between them, and the reference model."""

    database: Database  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = Path(tempfile.mkdtemp(prefix="sync-model-"))
        self.model = ReferenceModel()
        self.ids: list[str] = []  # every action id, in seq order
        self.final: dict[str, str] = {}  # final states the edge has recorded: never change
        self.acts: list[bytes] = []  # act messages at the broker, edge -> central
        self.acks: list[bytes] = []  # ack messages at the broker, central -> edge
        self.in_flight: set[str] = set()  # SyncLoop._in_flight: the batch awaiting its acks
        self.connected = True
        self.resends = 0
        self.run(self._start())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _start(self) -> None:
        self.url = await self.database.fresh(self.dir)
        self.settings = CentralSettings(db_url=self.url)
        self._open_central()
        site = Central(self.engine, self.settings, self.processor, client=None)  # type: ignore[arg-type]
        self.secret = await site.provision()
        await site.seed()
        await self._open_edge()

    def _open_central(self) -> None:
        self.engine = make_engine(self.url)
        self.processor = ActionProcessor(self.engine, self.settings)

    async def _open_edge(self) -> None:
        self.queue = await ActionQueue.open(
            self.dir / "queue.db", site=SITE, edge=EDGE, secret=self.secret, reserve_bytes=0
        )

    def teardown(self) -> None:
        try:
            self.run(self._drain_and_check())
        finally:
            self.run(self.queue.close())
            self.run(self.engine.dispose())
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- the operator ---------------------------------------------------------------------

    @rule(lp=st.sampled_from(LP_NUMBERS), known_item=st.booleans())
    def receive(self, lp: str, known_item: bool) -> None:
        item = "RAW-1" if known_item else "NOPE-1"
        action = self._enqueue(
            "lp.receive", {"item": item, "qty": "5", "uom": "kg", "location": "RECV", "lp": lp}
        )
        self.model.receive(action.id, action.seq, lp=lp, item=item)

    @rule(lp=st.sampled_from(LP_NUMBERS), to=st.sampled_from((*KNOWN_LOCATIONS, "Z-99")))
    def move(self, lp: str, to: str) -> None:
        action = self._enqueue("lp.move", {"lp": lp, "to_location": to})
        self.model.move(action.id, action.seq, lp=lp, to=to)

    def _enqueue(self, type: str, body: dict[str, Any]) -> Any:
        ts = START + timedelta(seconds=len(self.ids) + 1)  # device time rises with seq
        action = self.run(
            self.queue.enqueue(type=type, station="st-1", operator="op-1", body=body, ts=ts)
        )
        assert action.seq == len(self.ids) + 1, "seq is gap-free from 1"
        self.ids.append(action.id)
        return action

    # -- the edge's sync loop -------------------------------------------------------------

    @precondition(lambda self: self.connected and not self.in_flight)
    @rule()
    def send(self) -> None:
        """SyncLoop._send: the oldest pending actions as one batch, marked sent, published."""
        self.run(self._send())

    async def _send(self) -> None:
        batch = await self.queue.pending_wire(BATCH_SIZE)
        if not batch:
            return
        payload, count = SyncLoop._fit(batch)
        ids = [action.id for action in batch[:count]]
        self.in_flight = set(ids)
        await self.queue.mark_sent(ids)
        self.acts.append(payload)

    @precondition(lambda self: self.in_flight)
    @rule()
    def ack_timeout(self) -> None:
        """No ack within the timeout: the batch is due again."""
        self.in_flight = set()
        self.resends += 1

    @precondition(lambda self: self.connected)
    @rule()
    def disconnect(self) -> None:
        """The edge's link drops: clean session, so acks waiting for it are gone; act
        messages already at the broker may still reach central, in any order."""
        self.connected = False
        self.acks.clear()
        self.in_flight = set()

    @precondition(lambda self: not self.connected)
    @rule()
    def reconnect(self) -> None:
        self.connected = True

    @rule()
    def restart_edge(self) -> None:
        """The edge process restarts: the queue file is closed and opened again."""
        self.run(self.queue.close())
        self.run(self._open_edge())
        self.acks.clear()
        self.in_flight = set()

    @rule()
    def restart_central(self) -> None:
        """Central restarts: a new engine and processor on the same database. Its online
        state makes the edge send what is in flight again."""
        self.run(self.engine.dispose())
        self._open_central()
        self.in_flight = set()

    # -- the network ----------------------------------------------------------------------

    @precondition(lambda self: self.acts)
    @rule(pick=st.integers(0, 20))
    def deliver_act(self, pick: int) -> None:
        """Central applies an act message (any one in flight: reordering) and acks it."""
        self.run(self._deliver_act(self.acts.pop(pick % len(self.acts))))

    @precondition(lambda self: self.acts)
    @rule(pick=st.integers(0, 20))
    def deliver_act_twice(self, pick: int) -> None:
        """The broker delivers a message again (QoS 1 redelivery); it stays in flight."""
        self.run(self._deliver_act(self.acts[pick % len(self.acts)]))

    @precondition(lambda self: self.acts)
    @rule(pick=st.integers(0, 20))
    def lose_act(self, pick: int) -> None:
        self.acts.pop(pick % len(self.acts))

    async def _deliver_act(self, payload: bytes) -> None:
        acks = await self.processor.process_message(
            payload, topic_site=SITE, topic_edge=EDGE, via="mqtt"
        )
        self.acks.append(batch_ack(acks, site=SITE, edge=EDGE, secret=self.secret))

    @precondition(lambda self: self.acks and self.connected)
    @rule(pick=st.integers(0, 20), twice=st.booleans())
    def deliver_ack(self, pick: int, twice: bool) -> None:
        """SyncLoop._on_acks for any ack message waiting (maybe a stale one), maybe twice."""
        payload = self.acks.pop(pick % len(self.acks))
        for _ in range(2 if twice else 1):
            self.run(self._on_acks(payload))

    @precondition(lambda self: self.acks)
    @rule(pick=st.integers(0, 20))
    def lose_ack(self, pick: int) -> None:
        self.acks.pop(pick % len(self.acks))

    async def _on_acks(self, payload: bytes) -> None:
        acks = read_acks(payload, site=SITE, edge=EDGE, secret=self.secret)
        known = [a for a in acks if a.id is not None]
        assert len(known) == len(acks), f"central refused a whole message: {acks}"
        await self.queue.apply_acks(known)
        self.in_flight.difference_update(a.id for a in known)

    # -- what must hold -------------------------------------------------------------------

    @invariant()
    def outcomes_agree(self) -> None:
        """Central applied a prefix of the seqs, each as the model says; the edge's final
        states never change and tell the same story."""
        self.run(self._outcomes_agree())

    async def _outcomes_agree(self) -> None:
        central = await self._processed()
        assert sorted(seq for seq, _, _ in central.values()) == list(range(1, len(central) + 1)), (
            f"central applied out of seq order or skipped one: {sorted(central.values())}"
        )
        for action_id, (seq, result, code) in central.items():
            expected = self.model.outcomes[action_id]
            assert (seq, result, code) == (expected.seq, expected.result, expected.code)
        for action_id in self.ids:
            record = await self.queue.get(action_id)
            assert record is not None, f"the edge lost action {action_id}"
            if action_id in self.final:
                assert record.state == self.final[action_id], f"final state of {action_id} changed"
            elif record.state in FINAL_STATES:
                self.final[action_id] = record.state
                assert action_id in central, f"{action_id} final at the edge, unknown at central"
                assert edge_agrees(record.state, self.model.outcomes[action_id]), (
                    f"edge says {record.state}, central {central[action_id]}"
                )

    async def _processed(self) -> dict[str, tuple[int, str, str | None]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT action_id, seq, result, code FROM processed_actions")
            )
            return {r.action_id: (int(r.seq), r.result, r.code) for r in rows}

    async def _drain_and_check(self) -> None:
        """Deliver everything without faults until the queue is empty, then check it all."""
        self.connected = True
        for _ in range(10 * len(self.ids) + 10):
            while self.acts:
                await self._deliver_act(self.acts.pop(0))
            while self.acks:
                await self._on_acks(self.acks.pop(0))
            if not await self.queue.pending_wire(1):
                break
            self.in_flight = set()  # whatever was in flight was answered above, or lost
            await self._send()
        assert not await self.queue.pending_wire(1), "the queue did not drain"
        await self._outcomes_agree()
        assert set(self.final) == set(self.ids), "an action never became final at the edge"
        await self._check_central(await self._processed())

    async def _check_central(self, central: dict[str, tuple[int, str, str | None]]) -> None:
        assert set(central) == set(self.ids), "central is missing actions or has strange ones"
        async with self.engine.connect() as conn:
            moves = await conn.execute(text("SELECT action_id, kind FROM stock_moves"))
            ledger: dict[str, list[str]] = {}
            for row in moves:
                ledger.setdefault(row.action_id, []).append(row.kind)
            conflicts = await conn.execute(text("SELECT action_id FROM conflicts"))
            inbox = [row.action_id for row in conflicts]
            places = await conn.execute(
                text(
                    "SELECT lp.number, loc.code FROM license_plates lp "
                    "JOIN locations loc ON loc.id = lp.location_id"
                )
            )
            where = {row.number: row.code for row in places}
            report = await check(conn)
        assert {i: tuple(sorted(k)) for i, k in ledger.items()} == self.model.ledger(), (
            "the ledger does not hold exactly one row set per applied action"
        )
        conflicted = [i for i, e in self.model.outcomes.items() if e.result == "conflict"]
        assert sorted(inbox) == sorted(conflicted), "the conflict inbox differs from the model"
        assert where == self.model.lps, "LP locations differ from the model"
        assert report.ok, f"ioe db check fails: {report.problems}"


def _settings() -> settings:
    return settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        report_multiple_bugs=False,  # one failure, shrunk: a failing CI run stays short
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def test_sync_matches_the_reference_model(
    database_tier: str, request: pytest.FixtureRequest
) -> None:
    """Random enqueues, sends, losses, duplicates, reorderings and restarts: the edge queue
    and central agree with the model on every action's final state and on the ledger."""
    if database_tier == "sqlite":
        database = Database(template=request.getfixturevalue("_sqlite_template"))
    else:
        database = Database(pg=request.getfixturevalue("_pg_work"))
    machine = type("SyncModelRun", (SyncModel,), {"database": database})
    run_state_machine_as_test(machine, settings=_settings())

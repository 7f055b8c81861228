"""Webhook delivery benchmark: events committed to the outbox, delivered to a receiver process.

    python bench/webhooks.py [--db URL] [--events 2000] [--subjects 200] [--rate 0]
    python bench/webhooks.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/ioe_bench_hooks
    python bench/webhooks.py --smoke     # 200 events, a temporary SQLite file

Central's event path runs here as `ioe central run` runs it (central/server.py): the relay
with its webhook fan-out and the delivery worker, on one engine, with the default settings.
This process commits ``lp.moved`` events through that engine in transactions of 20 (as fast as
it can, or ``--rate`` events a second), so each commit wakes the relay as a floor action's
does. The receiver is a process of its own (harness/webhook_receiver.py: a threaded HTTP
server) that verifies every request's signature with the ``standardwebhooks`` package and
records its arrival time. Figures: events per second from the first commit to the last
receipt, and commit-to-receipt latency (p50, p99) per event.

The run checks itself before it prints a figure: every event reached the receiver, each under
exactly one webhook-id (``evt_<event id>``, carried by no other event) and none twice, every
request verified, and central holds one delivery per event, each ``delivered``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.checks import check, passed, run_main  # noqa: E402
from central.access.callers import OPEN_CALLER  # noqa: E402
from central.db.engine import make_engine  # noqa: E402
from central.db.migrate import upgrade  # noqa: E402
from central.db.tables import webhook_deliveries  # noqa: E402
from central.event_relay import build_relay  # noqa: E402
from central.events.outbox import DomainEvent, write_events  # noqa: E402
from central.events.types import EventType  # noqa: E402
from central.settings import CentralSettings  # noqa: E402
from central.webhooks.secrets import WebhookSecretBox, new_secret  # noqa: E402
from central.webhooks.subscriptions import create_webhook  # noqa: E402
from central.webhooks.worker import WebhookWorker  # noqa: E402
from harness import Proc, free_port, wait_for_port  # noqa: E402
from harness.webhook_receiver import CONTROL, Received, read_record  # noqa: E402

SITE = "plant-1"
SMOKE_EVENTS = 200
BATCH = 20  # events per committed transaction
MASTER_KEY = "b3" * 32  # the run's own


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def run(args: argparse.Namespace, db_url: str, workdir: Path) -> None:
    count = SMOKE_EVENTS if args.smoke else args.events
    settings = CentralSettings(db_url=db_url, master_key=MASTER_KEY)
    await upgrade(db_url, master_key=settings.load_master_key())
    engine = make_engine(db_url)
    port, record = free_port(), workdir / "received.db"
    receiver = Proc(
        [sys.executable, "-m", "harness.webhook_receiver", "--port", str(port),
         "--record", str(record)],
        workdir / "receiver.log",
    )  # fmt: skip
    relay, worker = build_relay(engine, settings), WebhookWorker(engine, settings)
    tasks: list[asyncio.Task[None]] = []
    try:
        wait_for_port(port)
        await relay.pass_once()  # the fan-out follows the outbox from here on
        async with engine.begin() as conn:
            made = await create_webhook(
                conn,
                caller=OPEN_CALLER,
                box=WebhookSecretBox(settings.load_master_key()),
                url=f"http://127.0.0.1:{port}/hook",
                types=["lp.*"],
                sites=[SITE],
                description="bench",
                enabled=True,
            )
        secret = new_secret() if args.wrong_secret else made.secret
        async with httpx.AsyncClient() as client:
            await client.put(f"http://127.0.0.1:{port}{CONTROL}", json={"secrets": [secret]})
        tasks = [asyncio.create_task(relay.run()), asyncio.create_task(worker.run())]
        committed: dict[int, float] = {}
        started = time.time()
        for first in range(0, count, BATCH):
            numbers = range(first, min(count, first + BATCH))
            async with engine.begin() as conn:
                await write_events(
                    conn,
                    [
                        DomainEvent(
                            EventType.LP_MOVED,
                            SITE,
                            f"LP-{n % args.subjects:05d}",
                            {"to": "A-01", "n": n},
                        )
                        for n in numbers
                    ],
                )
            at = time.time()
            committed.update((n, at) for n in numbers)
            if args.rate:
                await asyncio.sleep(max(0.0, started + (first + BATCH) / args.rate - time.time()))
        deadline = time.time() + args.timeout
        received: list[Received] = []
        while time.time() < deadline:
            received = read_record(record)
            if len({r.message_id for r in received}) >= count:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # let the last answers be recorded as delivered
        async with engine.connect() as conn:
            by_status = dict(
                (
                    await conn.execute(
                        select(webhook_deliveries.c.status, func.count())
                        .where(webhook_deliveries.c.webhook_id == made.webhook.id)
                        .group_by(webhook_deliveries.c.status)
                    )
                ).all()
            )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        receiver.stop()
        await engine.dispose()
    received = read_record(record)
    report(args, count, committed, started, received, by_status, db_url)


def report(
    args: argparse.Namespace,
    count: int,
    committed: dict[int, float],
    started: float,
    received: list[Received],
    by_status: dict[str, int],
    db_url: str,
) -> None:
    """Check the outcome, then print the figures."""
    unverified = [r for r in received if not r.verified]
    check(not unverified, f"{len(unverified)} request(s) did not verify: {unverified[:1]}")
    ids: dict[str, set[int]] = defaultdict(set)
    first_at: dict[int, float] = {}
    for r in received:
        event = r.event()
        ids[r.message_id or ""].add(event["payload"]["n"])
        first_at.setdefault(event["payload"]["n"], r.at)
    check(len(first_at) == count, f"{count - len(first_at)} of {count} events never arrived")
    shared = [m for m, ns in ids.items() if len(ns) != 1]
    check(not shared, f"webhook-ids carried by several events: {shared[:5]}")
    repeats = len(received) - len(ids)
    check(repeats == 0, f"{repeats} event(s) arrived more than once with no fault injected")
    check(by_status == {"delivered": count}, f"central's deliveries: {by_status}")
    latencies = [first_at[n] - committed[n] for n in range(count)]
    span = max(first_at.values()) - started
    passed(
        f"{count:,} events delivered once each by webhook-id, every signature verified, "
        f"{count:,} deliveries recorded delivered"
    )
    backend = db_url.split(":", 1)[0]
    pace = f"{args.rate:g} events/s offered" if args.rate else "committed as fast as possible"
    print(f"webhooks: {count:,} events ({pace}, {BATCH} a commit), {backend}")
    print(f"  throughput       {count / span:,.0f} events/s (first commit to last receipt)")
    print(
        f"  commit->receipt  p50 {statistics.median(latencies) * 1000:,.1f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:,.1f} ms, max {max(latencies) * 1000:,.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="central database URL (default: SQLite file)")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--subjects", type=int, default=200, help="LPs the events are about")
    parser.add_argument("--rate", type=float, default=0, help="events/s offered (0: flat out)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for all")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_EVENTS} events")
    parser.add_argument(
        "--wrong-secret",
        action="store_true",
        help="give the receiver another secret (the self-check must fail)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.timeout = min(args.timeout, 60)

    async def go() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            await run(args, args.db or f"sqlite+aiosqlite:///{Path(tmp) / 'central.db'}", Path(tmp))

    run_main(lambda: asyncio.run(go()))


if __name__ == "__main__":
    main()

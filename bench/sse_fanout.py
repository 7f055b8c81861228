"""SSE fan-out benchmark: N events to 50 server-sent event clients of one central process.

    python bench/sse_fanout.py                       # SQLite, 50 clients, 2,000 events
    python bench/sse_fanout.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/ioe_bench_sse
    python bench/sse_fanout.py --smoke               # 5 clients, 100 events

A real `ioe central run` (its own embedded broker on a free port) serves `GET /api/v1/events`;
the clients (httpx, one asyncio loop in this process) open their streams after the newest
event, then a writer thread commits N events, ``--batch`` per transaction, into the outbox as
another replica would (its own engine on the same database). Central's relay numbers them and
its one tail per process fans them out. On PostgreSQL the writer's commit wakes central at
once (``NOTIFY ioe_events``); SQLite has no wake across processes, so there central polls
every ``--sqlite-poll`` seconds (central's own writes wake it at commit; docs/events.md).

The run checks itself before it prints a figure: every client received every event exactly
once, in commit order (ids gapless, subjects as written), and nothing else. Figures: event
deliveries per second (clients x events over the time from the first commit to the last
receipt) and the latency from a transaction's commit to each client's receipt (p50, p99).
A PostgreSQL database named in --db must exist and hold no events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checks import check, passed, run_main  # noqa: E402
from central.db.engine import make_engine  # noqa: E402
from central.events.outbox import DomainEvent, write_events  # noqa: E402
from central.events.reading import last_event_id  # noqa: E402
from central.events.types import EventType  # noqa: E402
from harness import (  # noqa: E402
    Proc,
    free_port,
    ioe_command,
    process_workdir,
    wait_for_port,
    wait_until,
)

SITE = "plant-1"


def subject(n: int) -> str:
    return f"LP-{n:07d}"


def write_all(
    db_url: str, count: int, batch: int, rate: float, committed: dict[str, float]
) -> None:
    """Commit ``count`` events, ``batch`` per transaction (at most ``rate`` events/s; 0: as
    fast as it can); note each one's commit time."""

    async def run() -> None:
        engine = make_engine(db_url)
        began = time.monotonic()
        try:
            for start in range(0, count, batch):
                if rate:
                    await asyncio.sleep(max(0.0, began + start / rate - time.monotonic()))
                numbers = range(start, min(start + batch, count))
                async with engine.begin() as conn:
                    await write_events(
                        conn,
                        [
                            DomainEvent(EventType.LP_MOVED, SITE, subject(n), {"to": "A-01"})
                            for n in numbers
                        ],
                    )
                at = time.monotonic()
                for n in numbers:
                    committed[subject(n)] = at
        finally:
            await engine.dispose()

    asyncio.run(run())


async def newest_event(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            return await last_event_id(conn)
    finally:
        await engine.dispose()


async def client(
    http: httpx.AsyncClient,
    url: str,
    after: int,
    types: str,
    count: int,
    opened: asyncio.Event,
    got: list[tuple[int, str, float]],
) -> None:
    """One stream: read ``count`` events after ``after`` (id, subject, receipt time)."""
    async with http.stream("GET", url, params={"after": after, "types": types}) as response:
        check(response.status_code == 200, f"the stream answered {response.status_code}")
        opened.set()
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line == "" and set(fields) == {"retry"}:
                fields = {}
            elif line == "" and fields:
                at = time.monotonic()
                check(fields.get("event") == "lp.moved", f"an unexpected message: {fields}")
                data = json.loads(fields["data"])
                got.append((int(fields["id"]), data["subject"], at))
                fields = {}
                if len(got) == count:
                    return
            elif line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")


async def clients(
    url: str, after: int, types: str, streams: int, count: int, timeout: float, ready: Any
) -> list[list[tuple[int, str, float]]]:
    """``streams`` streams in this process; ``ready`` is set once all are open."""
    limits = httpx.Limits(max_connections=streams + 5)
    received: list[list[tuple[int, str, float]]] = [[] for _ in range(streams)]
    async with httpx.AsyncClient(timeout=httpx.Timeout(120, connect=10), limits=limits) as http:
        opened = [asyncio.Event() for _ in range(streams)]
        tasks = [
            asyncio.create_task(client(http, url, after, types, count, opened[i], received[i]))
            for i in range(streams)
        ]
        await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 60)
        ready.set()
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()  # a failed check in a client fails the run
    return received


def client_process(
    url: str,
    after: int,
    types: str,
    streams: int,
    count: int,
    timeout: float,
    ready: Any,
    out: Any,
) -> None:
    """A process of clients: sends back what each stream received (or the failure)."""
    try:
        out.put(asyncio.run(clients(url, after, types, streams, count, timeout, ready)))
    except Exception as err:  # noqa: BLE001 - the parent reports it
        out.put(f"{type(err).__name__}: {err}")


def fan_out(args: argparse.Namespace, central_url: str) -> None:
    start_id = asyncio.run(newest_event(args.db))
    url = f"{central_url}/api/v1/events"
    committed: dict[str, float] = {}
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    shares = [args.clients // args.client_procs] * args.client_procs
    for i in range(args.clients % args.client_procs):
        shares[i] += 1
    readies = []
    procs = []
    for share in (s for s in shares if s):
        ready = spawn.Event()
        proc = spawn.Process(
            target=client_process,
            args=(url, start_id, args.stream_types, share, args.events, args.timeout, ready, out),
        )
        proc.start()
        readies.append(ready)
        procs.append(proc)
    for ready in readies:
        check(ready.wait(90), "the client processes did not open their streams")
    began = time.monotonic()
    write_all(args.db, args.events, args.batch, args.rate, committed)
    received: list[list[tuple[int, str, float]]] = []
    for _ in procs:
        part = out.get(timeout=args.timeout + 30)
        check(not isinstance(part, str), f"a client process failed: {part}")
        received.extend(part)
    for proc in procs:
        proc.join(10)
    wrote_s = max(committed.values()) - began if committed else 0.0
    expected_ids = list(range(start_id + 1, start_id + args.events + 1))
    expected_subjects = [subject(n) for n in range(args.events)]
    for i, got in enumerate(received):
        check(
            len(got) == args.events,
            f"client {i} received {len(got)} of {args.events} events in {args.timeout:.0f} s",
        )
        check([g[0] for g in got] == expected_ids, f"client {i}: ids not gapless and in order")
        check([g[1] for g in got] == expected_subjects, f"client {i}: events not in commit order")
    latencies = sorted(at - committed[name] for got in received for _, name, at in got)
    last = max(at for got in received for _, _, at in got)
    deliveries = args.clients * args.events
    passed(
        f"{args.clients} clients each received all {args.events:,} events once, "
        "in commit order, ids gapless"
    )
    kind = "PostgreSQL" if args.db.startswith("postgresql") else "SQLite"
    print(
        f"SSE fan-out on {kind}: {args.clients} clients x {args.events:,} events "
        f"({args.batch} per transaction, {args.rate or 'unpaced'} events/s written), "
        f"clients in {args.client_procs} processes"
    )
    print(f"  writer committed          {args.events / wrote_s:10,.0f} events/s")
    print(f"  delivered                 {deliveries / (last - began):10,.0f} events/s to clients")
    print(
        f"  commit -> client receipt  p50 {statistics.median(latencies) * 1000:7.1f} ms   "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:7.1f} ms   "
        f"max {latencies[-1] * 1000:7.1f} ms"
    )


def run(args: argparse.Namespace, work: Path, procs: list[Proc]) -> None:
    """Start a broker and central, stream, write, check, print."""
    quiet = {"IOE_LOG_LEVEL": "WARNING"}
    broker_port = free_port()
    procs.append(Proc(ioe_command("broker", "--port", str(broker_port)), work / "broker.log"))
    wait_for_port(broker_port)
    args.db = args.db or f"sqlite+aiosqlite:///{work / 'central.db'}"
    env = {**quiet, "IOE_SSE_MAX_STREAMS": str(args.clients + 5)}
    if not os.environ.get("IOE_MASTER_KEY") and not os.environ.get("IOE_MASTER_KEY_FILE"):
        env["IOE_MASTER_KEY"] = secrets.token_hex(32)  # PostgreSQL needs one; a fresh database
    if args.db.startswith("sqlite"):
        env |= {
            "IOE_SSE_POLL_SECONDS": str(args.sqlite_poll),
            "IOE_RELAY_POLL_SECONDS": str(args.sqlite_poll),
        }
    port = free_port()
    command = ioe_command(
        "central", "run", "--db", args.db, "--mqtt", f"mqtt://127.0.0.1:{broker_port}",
        "--port", str(port),
    )  # fmt: skip
    central = Proc(command, work / "central.log", env)
    procs.append(central)
    central_url = f"http://127.0.0.1:{port}"

    def central_up() -> bool:
        check(central.popen.poll() is None, f"central exited: {central.output()[-800:]}")
        try:
            return httpx.get(f"{central_url}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(central_up, 60, what="central")
    fan_out(args, central_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="central database URL (default: SQLite file)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=10, help="events per transaction")
    parser.add_argument("--rate", type=float, default=0, help="events/s written (0: unpaced)")
    parser.add_argument("--client-procs", type=int, default=5, help="processes the clients share")
    parser.add_argument("--sqlite-poll", type=float, default=0.05, help="seconds (SQLite)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for the run")
    parser.add_argument("--smoke", action="store_true", help="5 clients, 100 events")
    parser.add_argument(
        "--stream-types",
        default="lp.moved",
        help="the types the clients ask for (another than lp.moved: nothing reaches them, "
        "the self-check must fail the run)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.events, args.client_procs = 5, 100, 1
    check(args.client_procs > 0, "--client-procs must be at least 1")
    check(args.clients > 0 and args.events > 0 and args.batch > 0, "nothing to measure")
    with process_workdir("ioe-bench-sse-") as (work, procs):
        run(args, work, procs)


if __name__ == "__main__":
    run_main(main)

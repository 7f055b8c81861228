"""Reference data to 20 edges: a change committed at central -> verified and applied at every edge.

    python bench/ref_latency.py                   # 400 changes at 20/s, 20 edges, own Mosquitto
    python bench/ref_latency.py --rate 200        # bursts: several changes per delta
    python bench/ref_latency.py --db postgresql+asyncpg://... --broker embedded
    python bench/ref_latency.py --smoke           # 40 changes: does it still work?
    python bench/ref_latency.py --smoke --wrong-key   # the edges trust another key: must fail

Central's side runs in this process as `ioe central run` wires it: the ingest worker and its
MQTT connection (the BrokerLink the publisher sends through), the snapshot answerer, and the
event relay with the reference publisher, woken by the commit. Each change is a new LP
committed together with its ``lp.created`` event in one transaction, as a floor receipt does
(the LP row is written straight into the table: the bench measures the way out, not the apply
path). t0 is taken when COMMIT has returned. The edges are another process
(``--edges-child``): N provisioned edges, each with the edge agent's own reference cache (a
RefStore file and the RefFollower that verifies every message with central's public key,
checks each chain and applies): each starts empty, asks central for a snapshot with its own
key, and the changes start once every edge has swapped its snapshot in. t1 is when an edge's
follower has applied the delta carrying the LP. One machine, one clock (``time.time``).

It fails (exit 1, no figure) unless every change reaches every edge's cache with the data
committed (number, quantity, location), every message verifies, no edge saw a gap in a chain,
and every request an edge made was answered by one snapshot swapped in (at most two: the
first kinds at the start, and the shipments once central's head shows it publishes them, as a
fresh central has published no head yet; edge/ref_follow.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checks import check, passed, run_main  # noqa: E402
from harness import Proc, free_port, ioe_command, wait_for_port  # noqa: E402
from harness.processes import process_workdir  # noqa: E402

SITE = "plant-1"
SMOKE = {"changes": 40, "edges": 20}
STEP = 30.0  # seconds: bound on every wait (the edges ready, their report)
SETTLE = 10.0  # seconds the edges wait past the last change for its delta


# -- the edges (a child process) ---------------------------------------------------------


async def edges_child(
    url: str, key_hex: str, secrets_file: str, expect: int, timeout: float, work: str
) -> None:
    """N edges, each the edge agent's own reference cache (a RefStore file and the RefFollower
    that verifies, chain-checks and applies), filled by a snapshot it asks central for, then
    following the deltas; one JSON line of what each applied, and when."""
    from edge.ref_follow import RefFollower
    from edge.ref_store import RefStore
    from protocol.topics import ref_topic
    from runtime.mqtt import MqttConnection

    key = bytes.fromhex(key_hex)
    secrets: dict[str, str] = json.loads(Path(secrets_file).read_text())
    lp_topic = ref_topic(SITE, "lp")
    edges = []
    for name, secret in secrets.items():
        store = await RefStore.open(Path(work) / f"{name}.db")
        follower = RefFollower(store, site=SITE, edge=name, secret=secret, central_key=key)
        await follower.load()
        conn = await MqttConnection.open(url, client_id=f"bench-{name}")
        await conn.subscribe(*follower.topics())
        edges.append((name, store, follower, conn))
    results: dict[str, dict[str, float]] = {}
    synced = asyncio.Event()

    async def edge(name: str, store: Any, follower: Any, conn: MqttConnection) -> None:
        applied: dict[str, float] = {}
        results[name] = applied
        following = asyncio.create_task(follower.run(conn.publish))
        try:
            async for message in conn.messages():
                before = follower.applied
                await follower.on_message(message.topic, message.payload)
                if follower.snapshots and all(f.snapshots for _, _, f, _ in edges):
                    synced.set()
                if message.topic == lp_topic and follower.applied > before:
                    at = time.time()
                    for item in json.loads(message.payload)["items"]:
                        applied.setdefault(item["key"], at)
                if len(applied) >= expect:
                    return
        finally:
            following.cancel()

    running = [asyncio.create_task(edge(*e)) for e in edges]
    with contextlib.suppress(TimeoutError):  # edges that trust another key never sync
        await asyncio.wait_for(synced.wait(), STEP)
    print("ready", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*running), timeout)
    report = []
    for name, store, follower, conn in edges:
        stored = {}
        for number, at in results.get(name, {}).items():
            data = await store.get("lp", number) or {}
            stored[number] = [at, data.get("qty"), data.get("location")]
        status = follower.status()
        report.append(
            {
                "edge": name,
                "applied": stored,
                "refused": status["refused"],
                "snapshots": follower.snapshots,
                "snapshot_requests": follower.snapshot_requests,
                "gaps": status["gaps"],
                "deltas": status["applied"],
            }
        )
        await conn.close()
        await store.close()
    print(json.dumps(report), flush=True)


# -- central (this process) --------------------------------------------------------------


def start_broker(kind: str, work: Path, procs: list[Proc]) -> str:
    """The run's own broker on a free port."""
    port = free_port()
    if kind == "embedded":
        command = ioe_command("broker", "--port", str(port))
    else:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        check(Path(binary).exists(), "no mosquitto binary installed (or pass --broker embedded)")
        conf = work / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 100000\nmax_inflight_messages 100\n"
        )
        command = [binary, "-c", str(conf)]
    procs.append(Proc(command, work / "broker.log", {"IOE_LOG_LEVEL": "WARNING"}))
    wait_for_port(port)
    return f"mqtt://127.0.0.1:{port}"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def run(args: argparse.Namespace, work: Path, procs: list[Proc]) -> None:
    """Seed, start central's side and the edges, commit the changes, check, print."""
    from sqlalchemy import insert

    from central.access.callers import OPEN_CALLER
    from central.actions.processor import ActionProcessor
    from central.catalog.locations import create_location
    from central.catalog.products import create_product
    from central.clock import now
    from central.db.engine import make_engine
    from central.db.migrate import upgrade
    from central.db.tables import license_plates
    from central.edges.registry import provision_edge
    from central.event_relay import build_relay
    from central.events.outbox import DomainEvent, write_events
    from central.events.types import EventType
    from central.identity import state_signing_seed
    from central.ingest import IngestWorker
    from central.ref.link import BrokerLink
    from central.ref.snapshots import SnapshotAnswerer
    from central.settings import CentralSettings
    from protocol import central_public_key

    broker = args.mqtt or start_broker(args.broker, work, procs)
    db_url = args.db or f"sqlite+aiosqlite:///{work / 'central.db'}"
    settings = CentralSettings(db_url=db_url, master_key=os.urandom(32).hex())
    await upgrade(db_url, master_key=settings.load_master_key())
    engine = make_engine(db_url)
    seed = state_signing_seed(settings)
    async with engine.begin() as conn:
        product = await create_product(
            conn, site=SITE, code="RAW-1", name="Raw", uom="kg", caller=OPEN_CALLER
        )
        location = await create_location(
            conn, site=SITE, code="A-01", name="A-01", kind="storage", caller=OPEN_CALLER
        )
    processor = ActionProcessor(engine, settings)
    secrets = {}
    async with engine.begin() as conn:
        for n in range(args.edges):
            name = f"edge-{n:02d}"
            secrets[name] = await provision_edge(
                conn, site=SITE, edge_id=name, box=processor.edge_box
            )
    secrets_file = work / "edges.json"
    secrets_file.write_text(json.dumps(secrets))
    link = BrokerLink()
    snapshots = SnapshotAnswerer(engine, settings, box=processor.edge_box, seed=seed, link=link)
    worker = IngestWorker(
        processor, mqtt_url=broker, link=link, snapshots=snapshots, state_seed=seed
    )
    relay = build_relay(engine, settings, link=link)
    await relay.pass_once()  # the publisher's first claim
    tasks = [
        asyncio.create_task(relay.run(), name="relay"),
        asyncio.create_task(snapshots.run(), name="snapshots"),
        asyncio.create_task(worker.run(), name="ingest"),
    ]
    waiting = args.changes / args.rate + SETTLE  # the edges give up this long after they start
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--edges-child",
        "--mqtt",
        broker,
        "--key",
        central_public_key(os.urandom(32) if args.wrong_key else seed).hex(),
        "--secrets",
        str(secrets_file),
        "--work",
        str(work),
        "--changes",
        str(args.changes),
        "--child-timeout",
        str(waiting),
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 26,  # the edges report in one JSON line
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        await link.connection(STEP)
        ready = await asyncio.wait_for(child.stdout.readline(), 2 * STEP)
        check(ready.strip() == b"ready", f"the edges did not start: {ready!r}")
        committed: dict[str, tuple[float, str]] = {}
        interval = 1.0 / args.rate
        began = time.perf_counter()
        for n in range(args.changes):
            number, qty = f"LP-{n:06d}", Decimal(n + 1)
            async with engine.begin() as conn:
                await conn.execute(
                    insert(license_plates).values(
                        site=SITE,
                        number=number,
                        product_id=product.id,
                        qty=qty,
                        uom="kg",
                        location_id=location.id,
                        status="available",
                        created_at=now(),
                    )
                )
                await write_events(conn, [DomainEvent(EventType.LP_CREATED, SITE, number, {})])
            committed[number] = (time.time(), str(qty))
            delay = began + (n + 1) * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        line = await asyncio.wait_for(child.stdout.readline(), waiting + STEP)
        edges: list[dict[str, Any]] = json.loads(line)
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await child.wait()
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=STEP)
        await engine.dispose()
    report(args, broker, db_url, committed, edges)


def report(
    args: argparse.Namespace,
    broker: str,
    db_url: str,
    committed: dict[str, tuple[float, str]],
    edges: list[dict[str, Any]],
) -> None:
    """Check every edge got every change right, then print the figures."""
    check(len(edges) == args.edges, f"{len(edges)} edges reported, not {args.edges}")
    every: list[float] = []
    slowest: dict[str, float] = {}
    deltas = []
    for n, edge in enumerate(edges):
        check(edge["refused"] == 0, f"edge {n} refused {edge['refused']} message(s)")
        check(edge["gaps"] == 0, f"edge {n} saw {edge['gaps']} gap(s) in a chain")
        check(
            edge["snapshots"] == edge["snapshot_requests"] <= 2,
            f"edge {n} took {edge['snapshots']} snapshot(s) for {edge['snapshot_requests']} "
            "request(s): each answered at once, and none but the start's (the first kinds, "
            "then the shipments central's first head shows)",
        )
        applied = edge["applied"]
        missing = sorted(set(committed) - set(applied))
        check(not missing, f"edge {n} never got {len(missing)} change(s), e.g. {missing[:3]}")
        for number, (t0, qty) in committed.items():
            at, got_qty, where = applied[number]
            check(
                (got_qty, where) == (qty, "A-01"),
                f"edge {n} has {number} as {got_qty} at {where}, not {qty} at A-01",
            )
            every.append(at - t0)
            slowest[number] = max(slowest.get(number, 0.0), at - t0)
        deltas.append(edge["deltas"])
    passed(
        f"{len(committed)} changes each applied by all {len(edges)} edges' caches with the "
        "committed data; each edge filled by its start's snapshots; every message verified with "
        "central's key; no gap in any chain"
    )
    print(
        f"broker: {broker.split(':')[0] if args.mqtt else args.broker}; db: {db_url.split(':')[0]}"
    )
    print(f"{len(committed)} changes at {args.rate:g}/s to {len(edges)} edges")
    per_delta = len(committed) / max(deltas)
    print(f"deltas per edge: {min(deltas)}..{max(deltas)} ({per_delta:.1f} changes per delta)")
    ms = [v * 1000 for v in every]
    last = [v * 1000 for v in slowest.values()]
    print(
        f"commit -> applied, each edge: p50 {percentile(ms, 0.5):.1f} ms, "
        f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms, "
        f"mean {statistics.fmean(ms):.1f} ms"
    )
    print(
        f"commit -> applied at the last of the {len(edges)} edges: "
        f"p50 {percentile(last, 0.5):.1f} ms, p99 {percentile(last, 0.99):.1f} ms, "
        f"max {max(last):.1f} ms"
    )


def main() -> None:
    """Parse the arguments and run the benchmark (or the edges' child process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=400)
    parser.add_argument("--rate", type=float, default=20.0, help="changes per second")
    parser.add_argument("--edges", type=int, default=20)
    parser.add_argument("--broker", choices=("mosquitto", "embedded"), default="mosquitto")
    parser.add_argument("--mqtt", default="", help="a running broker instead of the run's own")
    parser.add_argument("--db", default="", help="central database URL (default: SQLite file)")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument(
        "--wrong-key", action="store_true", help="edges trust another key (the run must fail)"
    )
    parser.add_argument("--edges-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--key", default="", help=argparse.SUPPRESS)
    parser.add_argument("--child-timeout", type=float, default=STEP, help=argparse.SUPPRESS)
    parser.add_argument("--secrets", default="", help=argparse.SUPPRESS)
    parser.add_argument("--work", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.edges_child:
        asyncio.run(
            edges_child(
                args.mqtt, args.key, args.secrets, args.changes, args.child_timeout, args.work
            )
        )
        return
    if args.smoke:
        for name, value in SMOKE.items():
            setattr(args, name, value)
    with process_workdir("ioe-ref-latency-") as (work, procs):
        asyncio.run(run(args, work, procs))


if __name__ == "__main__":
    run_main(main)

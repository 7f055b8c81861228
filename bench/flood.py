"""Flood benchmark: junk act messages under thousands of made-up edge ids, while a real edge
works and a client calls central's REST API.

    python bench/flood.py                       # own Mosquitto + SQLite: 5,000 msgs/s for 10 s
    python bench/flood.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/ioe_bench_flood
    python bench/flood.py --smoke               # 1,000 msgs/s for 4 s: does it still work?

A broker of the run's own (Mosquitto on a free loopback port, or `--broker embedded`),
central (`ioe central run`, with an admin token) and a provisioned edge (`ioe edge run`)
start as subprocesses. Flooder processes then publish junk act batches (well formed, badly
signed) on the topics of made-up edges at the real edge's site, at a target rate, while the
edge receives actions through its local API and a client times REST calls. The run reports
REST p50/p99 before and during the flood, central's RSS before, at its peak and after a
settle, the rate the flooders reached, and what central counted as dropped.

It checks itself before it prints a figure: every action the edge took is applied at
central exactly once (the edge holds it applied, central holds exactly that many LPs and
ledger rows, consistent); no REST call failed; the flood reached central (it dropped some);
central's RSS grew by less than --max-growth-mb and came back within --settled-mb of where
it started; and, outside --smoke, REST p99 during the flood stayed under --max-p99-ms.
Otherwise it exits 1.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import shutil
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checks import check, expect, passed, run_main  # noqa: E402
from bench.flood_parts import (  # noqa: E402
    ActionFeeder,
    RestTimer,
    RssSampler,
    percentile,
)
from edge.config import load_config  # noqa: E402
from harness import (  # noqa: E402
    Proc,
    free_port,
    ioe_command,
    process_workdir,
    provision_command,
    wait_for_port,
    wait_until,
)

SITE, EDGE, ITEM, LOCATION = "plant-1", "real-edge", "RAW-1", "RECV"
QTY = Decimal(5)
ADMIN_TOKEN = "flood-bench-admin-" + "x" * 24
MB = 1024 * 1024


def junk_batch(edge: str, number: int) -> bytes:
    """A plausible act batch of one envelope for a made-up edge, signed with a guessed key."""
    envelope = {
        "v": 1,
        "id": str(uuid.uuid4()),
        "type": "lp.receive",
        "site": SITE,
        "edge": edge,
        "station": "pack-1",
        "operator": "op-1",
        "seq": number + 1,
        "ts": "2026-11-22T13:00:00.123Z",
        "body": {"item": ITEM, "qty": "5", "uom": "kg", "location": LOCATION},
        "sig": "0" * 64,
    }
    return json.dumps([envelope], separators=(",", ":")).encode()


def flood_worker(
    url: str, edges: list[str], rate: float, seconds: float, start_at: float, results: Any
) -> None:
    """One flooder process: publish QoS 1 junk batches round-robin over ``edges`` at ``rate``
    per second for ``seconds`` from wall-clock ``start_at``; report what went out and what the
    broker acknowledged (PUBACK)."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    host, port = url.removeprefix("mqtt://").split(":")
    acked = 0

    def on_publish(*_args: object) -> None:
        nonlocal acked
        acked += 1

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"flood-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect(host, int(port))
    client.loop_start()
    payloads = [(f"ioe/v1/{SITE}/{edge}/act", junk_batch(edge, n)) for n, edge in enumerate(edges)]
    time.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(elapsed * rate) + 1
        while sent < due:
            topic, payload = payloads[sent % len(payloads)]
            client.publish(topic, payload, qos=1)
            sent += 1
        time.sleep(0.002)
    publish_time = time.perf_counter() - started
    deadline = time.perf_counter() + 30
    while acked < sent and time.perf_counter() < deadline:
        time.sleep(0.01)
    client.disconnect()
    client.loop_stop()
    results.put({"sent": sent, "acked": acked, "seconds": publish_time})


def start_broker(args: argparse.Namespace, work: Path, procs: list[Proc]) -> str:
    """The run's own broker on a free port; Mosquitto with the queue limits deploy/ ships."""
    port = free_port()
    if args.broker == "embedded":
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


def start_stack(
    args: argparse.Namespace, work: Path, procs: list[Proc], broker_url: str
) -> tuple[Proc, str, str, dict[str, str]]:
    """Central (guarded by an admin token) with a product and a location, and a provisioned
    edge running: (central, central URL, edge URL, the edge API's headers)."""
    env = {"IOE_LOG_LEVEL": "WARNING", "IOE_ADMIN_TOKEN": ADMIN_TOKEN}
    if args.db and not os.environ.get("IOE_MASTER_KEY"):
        env["IOE_MASTER_KEY"] = secrets.token_hex(32)  # PostgreSQL has no key file beside it
    db_url = args.db or f"sqlite+aiosqlite:///{work / 'central.db'}"
    central_port = free_port()
    central_url = f"http://127.0.0.1:{central_port}"
    central = Proc(
        ioe_command(
            "central", "run", "--db", db_url, "--mqtt", broker_url, "--port", str(central_port)
        ),
        work / "central.log",
        env,
    )
    procs.append(central)
    admin = httpx.Client(
        base_url=central_url, timeout=30, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )

    def central_ready() -> bool:
        check(central.popen.poll() is None, f"central exited: {central.output()[-800:]}")
        try:
            return admin.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(central_ready, 60, what="central")
    product = {"site": args.product_site, "code": ITEM, "name": "Raw", "uom": "kg"}
    expect(admin.post("/api/v1/products", json=product), 201, "create the product")
    location = {"site": SITE, "code": LOCATION, "name": "Receiving", "kind": "receiving"}
    expect(admin.post("/api/v1/locations", json=location), 201, "create the location")
    edge_port = free_port()
    config_path = work / "edge.toml"
    provision = Proc(
        provision_command(
            central=central_url,
            site=SITE,
            edge=EDGE,
            mqtt=broker_url,
            out=config_path,
            port=edge_port,
            data_dir=work / "edge",
        ),
        work / "provision.log",
        env,
    )
    try:
        provision.popen.wait(60)
    finally:
        provision.stop()
    check(provision.popen.returncode == 0, f"edge provision failed: {provision.output()[-500:]}")
    api_key = load_config(config_path).api_key or ""
    edge = Proc(ioe_command("edge", "run", "--config", str(config_path)), work / "edge.log", env)
    procs.append(edge)
    edge_url = f"http://127.0.0.1:{edge_port}"
    headers = {"X-API-Key": api_key}

    def edge_online() -> bool:
        check(edge.popen.poll() is None, f"the edge exited: {edge.output()[-800:]}")
        try:
            queue = httpx.get(f"{edge_url}/api/v1/queue", headers=headers, timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return False
        return bool(queue.get("broker_connected") and queue.get("central_online"))

    wait_until(edge_online, 60, interval=0.1, what="the edge to see central online")
    admin.close()
    return central, central_url, edge_url, headers


def flood(args: argparse.Namespace, broker_url: str) -> dict[str, float]:
    """Run the flooder processes to the end; their totals and the rate they reached."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    edges = [f"ghost-{n:05d}" for n in range(args.edges)]
    start_at = time.time() + 1.5  # every flooder connected and its payloads built
    workers = [
        context.Process(
            target=flood_worker,
            args=(
                broker_url,
                edges[n :: args.publishers],
                args.rate / args.publishers,
                args.seconds,
                start_at,
                results,
            ),
            daemon=True,
        )
        for n in range(args.publishers)
    ]
    for worker in workers:
        worker.start()
    totals = [results.get(timeout=args.seconds + 90) for _ in workers]
    for worker in workers:
        worker.join(10)
    sent = sum(t["sent"] for t in totals)
    acked = sum(t["acked"] for t in totals)
    seconds = max(t["seconds"] for t in totals)
    return {"sent": sent, "acked": acked, "seconds": seconds, "rate": sent / seconds}


def verify_edge_actions(
    central_url: str, edge_url: str, headers: dict[str, str], ids: list[str]
) -> dict[str, int]:
    """Every action the edge took is final and applied at central exactly once."""
    http = httpx.Client(timeout=30)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    count = len(ids)

    def drained() -> bool:
        return http.get(f"{edge_url}/api/v1/queue", headers=headers).json()["depth"] == 0

    wait_until(drained, 90, interval=0.1, what="the edge's queue to drain after the flood")
    states: dict[str, int] = {}
    for action_id in ids:
        action = expect(
            http.get(f"{edge_url}/api/v1/actions/{action_id}", headers=headers), 200, "an action"
        )
        states[action["state"]] = states.get(action["state"], 0) + 1
    check(
        states.get("applied", 0) + states.get("duplicate", 0) == count,
        f"every edge action should be applied: {states} of {count}",
    )
    report = expect(
        http.get(f"{central_url}/api/v1/inventory/check", params={"site": SITE}, headers=admin),
        200,
        "central consistency check",
    )
    check(
        report["ok"] and report["checked"] == {"lps": count, "ledger_rows": count},
        f"central should hold exactly {count} LPs and {count} ledger rows, consistent: "
        f"{report['checked']}, problems {report['problems'][:3]}",
    )
    http.close()
    return states


def run(args: argparse.Namespace, work: Path, procs: list[Proc]) -> None:
    """Start everything, measure a quiet baseline, flood, settle, check, print."""
    broker_url = start_broker(args, work, procs)
    central, central_url, edge_url, headers = start_stack(args, work, procs, broker_url)
    rss = RssSampler(central.popen.pid)
    rest = RestTimer(central_url, ADMIN_TOKEN, SITE)
    feeder = ActionFeeder(edge_url, headers, SITE, ITEM, LOCATION, str(QTY), args.action_rate)
    rss.start()
    rest.start()
    time.sleep(args.baseline)
    rss_before = rss.latest()
    rest.phase = "flood"
    feeder.start()
    sent = flood(args, broker_url)
    feeder.stop()
    rest.phase = "settle"
    time.sleep(args.settle)
    rss_after = rss.latest()
    rest.stop()
    rss.stop()
    check(central.popen.poll() is None, f"central died in the flood: {central.output()[-800:]}")
    check(not feeder.errors, f"the edge refused actions during the flood: {feeder.errors[:3]}")
    check(feeder.ids, "the edge took no action during the flood")
    states = verify_edge_actions(central_url, edge_url, headers, feeder.ids)
    check(not rest.errors, f"REST calls failed: {len(rest.errors)}, first {rest.errors[:3]}")
    during = rest.latencies("flood")
    check(len(during) >= 10, f"only {len(during)} REST calls were timed during the flood")
    drops = expect(
        httpx.get(
            f"{central_url}/api/v1/security/drops",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ),
        200,
        "central's drop counts",
    )
    dropped = drops["ingest_rate_limited"] + drops["ingest_lane_full"]
    check(dropped > 0, f"central dropped nothing: did the flood reach it? {drops}")
    growth = (rss.peak - rss_before) / MB
    left = (rss_after - rss_before) / MB
    check(growth < args.max_growth_mb, f"central's RSS grew {growth:.1f} MB in the flood")
    check(left < args.settled_mb, f"central's RSS stayed {left:.1f} MB above its start")
    p50, p99 = percentile(during, 50), percentile(during, 99)
    if not args.smoke:
        check(p99 < args.max_p99_ms, f"REST p99 during the flood {p99:.0f} ms")
    passed(
        f"{len(feeder.ids):,} edge actions during the flood, all applied exactly once "
        f"({states}); central holds {len(feeder.ids):,} LPs and ledger rows, consistent; "
        f"{len(rest.all_latencies()):,} REST calls, none failed; central's RSS grew "
        f"{growth:.1f} MB (< {args.max_growth_mb} MB) and settled {left:+.1f} MB from its start"
    )
    quiet = rest.latencies("quiet")
    broker = {"embedded": "embedded amqtt", "mosquitto": "own Mosquitto"}[args.broker]
    print(f"broker: {broker}; central db: {(args.db or 'sqlite').split(':')[0]}")
    print(
        f"flood: {sent['sent']:,} junk messages under {args.edges:,} made-up edge ids in "
        f"{sent['seconds']:.1f}s = {sent['rate']:,.0f} msgs/s reached "
        f"(target {args.rate:,}/s, {args.publishers} publishers, {sent['acked']:,} PUBACKed)"
    )
    print(
        f"central dropped: {drops['ingest_rate_limited']:,} rate-limited, "
        f"{drops['ingest_lane_full']:,} lane full; the rest refused through the bounded lane"
    )
    print(
        f"REST quiet : p50 {percentile(quiet, 50):.1f} ms  p99 {percentile(quiet, 99):.1f} ms "
        f"({len(quiet)} calls)"
    )
    print(f"REST flood : p50 {p50:.1f} ms  p99 {p99:.1f} ms ({len(during)} calls)")
    print(
        f"central RSS: before {rss_before / MB:.1f} MB, peak {rss.peak / MB:.1f} MB, "
        f"after {args.settle:.0f}s settle {rss_after / MB:.1f} MB"
    )
    print(
        f"edge actions: {len(feeder.ids)} taken at {args.action_rate}/s, slowest enqueue "
        f"{feeder.slowest_ms:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5_000, help="junk messages per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--edges", type=int, default=5_000, help="made-up edge ids")
    parser.add_argument("--publishers", type=int, default=2, help="flooder processes")
    parser.add_argument("--action-rate", type=float, default=5.0, help="edge actions per second")
    parser.add_argument("--broker", choices=("mosquitto", "embedded"), default="mosquitto")
    parser.add_argument("--db", default="", help="central database URL (default: SQLite file)")
    parser.add_argument("--baseline", type=float, default=3.0, help="quiet seconds first")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after the flood")
    parser.add_argument("--max-p99-ms", type=float, default=250.0)
    parser.add_argument("--max-growth-mb", type=float, default=100.0)
    parser.add_argument("--settled-mb", type=float, default=30.0)
    parser.add_argument(
        "--product-site",
        default=SITE,
        help="site of the product the edge's actions receive; another makes each a conflict "
        "(the self-check must fail the run)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="1,000 msgs/s for 4 s; p99 reported, not checked"
    )
    args = parser.parse_args()
    if args.smoke:
        args.rate, args.seconds, args.edges, args.publishers = 1_000, 4.0, 1_000, 1
        args.baseline, args.settle = 1.0, 2.0
    check(args.rate > 0 and args.seconds > 0 and args.edges > 0, "nothing to flood with")
    with process_workdir("ioe-bench-flood-") as (work, procs):
        run(args, work, procs)


if __name__ == "__main__":
    run_main(main)

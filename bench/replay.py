"""Replay benchmark: drain N queued actions from an edge to central, against the raw paho ceiling.

    python bench/replay.py                      # embedded broker + SQLite, 100,000 actions
    python bench/replay.py --broker mosquitto \
        --db postgresql+asyncpg://postgres@127.0.0.1:5432/ioe_bench_replay
    python bench/replay.py --smoke              # 2,000 actions: does it still work?
    python bench/replay.py --low-stock 1        # with a low-stock threshold on the product

N actions are queued on the edge while it has no broker (written straight into its durable
queue, as scans would be), then the edge process starts and the clock runs until every
action is acked. Then the run checks itself before it prints a figure: the edge must count N
actions applied (none a duplicate, conflict or rejection), and central must hold N LPs and N
ledger rows for them, consistent, with N x 5 kg on hand; otherwise it exits 1. In the same
run, through the same broker, a plain paho QoS 1 publisher/subscriber pair measures the
round-trip ceiling for 300-byte messages.

--broker mosquitto starts a Mosquitto of the run's own on a free loopback port (stock limits),
so no other central on a shared broker takes a share of the batches; a mqtt:// URL uses that
broker as it is. A PostgreSQL database named in --db must exist and be empty.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checks import BenchFailure, check, expect, passed, run_main  # noqa: E402
from edge.config import load_config  # noqa: E402
from edge.queue import ActionQueue  # noqa: E402
from harness import (  # noqa: E402
    Proc,
    free_port,
    ioe_command,
    process_workdir,
    provision_command,
    wait_for_port,
    wait_until,
)

SITE, EDGE, ITEM, LOCATION = "plant-1", "bench-edge", "RAW-1", "RECV"
QTY = Decimal(5)
SMOKE_ACTIONS = 2_000


def paho_ceiling(url: str, count: int, size: int = 300) -> tuple[float, int]:
    """Raw paho QoS 1 publish -> broker -> subscriber rate (messages/s), no IOE code, until
    every one of ``count`` numbered messages arrived; also how many arrived twice (QoS 1 is
    at least once)."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    host, port = url.removeprefix("mqtt://").split(":")
    topic = f"bench/ceiling/{os.getpid()}"
    seen: set[bytes] = set()
    duplicates = 0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(_client: object, _userdata: object, message: Any) -> None:
        nonlocal duplicates
        number = message.payload[:10]
        if number in seen:
            duplicates += 1
            return
        seen.add(number)
        if len(seen) == count:
            done.set()

    sub = paho.Client(CallbackAPIVersion.VERSION2)
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect(host, int(port))
    sub.loop_start()
    sub.subscribe(topic, qos=1)
    check(subscribed.wait(10), f"ceiling run: no SUBACK from {url} within 10 s")
    pub = paho.Client(CallbackAPIVersion.VERSION2)
    pub.max_inflight_messages_set(100)
    pub.max_queued_messages_set(0)
    pub.connect(host, int(port))
    pub.loop_start()
    padding = b"x" * (size - 10)
    window = 500  # stay under a stock Mosquitto's max_queued_messages (1000): no silent drops
    started = time.perf_counter()
    stalled = started + 120
    for sent in range(count):
        while sent - len(seen) >= window:
            check(time.perf_counter() < stalled, f"ceiling run stalled: {len(seen)}/{count}")
            time.sleep(0.0005)
        pub.publish(topic, b"%010d" % sent + padding, qos=1)
    arrived = done.wait(120)
    elapsed = time.perf_counter() - started
    for client in (pub, sub):
        client.disconnect()
        client.loop_stop()
    check(arrived, f"ceiling run lost messages: {len(seen)}/{count} arrived")
    return count / elapsed, duplicates


async def fill_queue(config_path: Path, count: int) -> float:
    """Queue ``count`` receipts as concurrent scans would arrive; returns actions/s."""
    config = load_config(config_path)
    queue = await ActionQueue.open(
        Path(config.data_dir) / "queue.db",
        site=config.site,
        edge=config.edge_id,
        secret=config.secret,
    )
    started = time.perf_counter()
    try:
        chunk = 500
        for offset in range(0, count, chunk):
            await asyncio.gather(
                *(
                    queue.enqueue(
                        type="lp.receive",
                        station="station-1",
                        operator="op-1",
                        body={
                            "item": ITEM,
                            "qty": str(QTY),
                            "uom": "kg",
                            "location": LOCATION,
                            "lp": f"B{i:09d}",
                        },
                    )
                    for i in range(offset, min(count, offset + chunk))
                )
            )
        rate = count / (time.perf_counter() - started)
        stats = await queue.stats()
    finally:
        await queue.close()
    check(
        stats.counts["queued"] == count == stats.depth and stats.next_seq == count + 1,
        f"the edge queue should hold {count} queued actions before the run: {stats}",
    )
    return rate


def mosquitto_conf(work: Path, port: int) -> Path:
    """A Mosquitto of the run's own: loopback only, stock queue and in-flight limits."""
    conf = work / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    return conf


def verify(http: httpx.Client, edge_url: str, central_url: str, count: int) -> dict[str, Any]:
    """Every action acked as applied at the edge, and central holding exactly their LPs and
    ledger rows, consistent, with the stock they received; a BenchFailure otherwise."""
    queue = expect(http.get(f"{edge_url}/api/v1/queue"), 200, "edge queue")
    counts = queue["counts"]
    if counts.get("applied") != count or any(
        n for state, n in counts.items() if state != "applied"
    ):
        conflicts = expect(
            http.get(f"{central_url}/api/v1/conflicts", params={"site": SITE, "limit": 1}),
            200,
            "central conflicts",
        )["items"]
        first = f"; first conflict: {conflicts[0]['code']} {conflicts[0]['message']}"
        raise BenchFailure(
            f"acks by result {counts}: expected all {count} applied" + (first if conflicts else "")
        )
    check(queue["last_ack_seq"] == count, f"edge last acked seq {queue['last_ack_seq']}")
    report = expect(
        http.get(f"{central_url}/api/v1/inventory/check", params={"site": SITE}),
        200,
        "central consistency check",
    )
    check(
        report["ok"] and report["checked"] == {"lps": count, "ledger_rows": count},
        f"central should hold {count} LPs and {count} ledger rows, consistent: "
        f"{report['checked']}, problems {report['problems'][:3]}",
    )
    rows = expect(
        http.get(
            f"{central_url}/api/v1/inventory/available",
            params={"site": SITE, "product": ITEM, "limit": 1000},
        ),
        200,
        "central available inventory",
    )["items"]
    on_hand = sum((Decimal(str(row["on_hand"])) for row in rows), Decimal(0))
    lps = sum(row["lps"] for row in rows)
    check(
        on_hand == QTY * count and lps == count,
        f"central should have {QTY * count} kg of {ITEM} in {count} LPs: {on_hand} in {lps}",
    )
    return {"counts": counts, "checked": report["checked"], "on_hand": on_hand}


def verify_threshold(http: httpx.Client, url: str, on_hand: Decimal) -> str:
    """The threshold checked on the drain's path: its stock is what was received, and its
    state what that stock says (a threshold under it was re-armed by the first batch after
    the alert its setting wrote); a BenchFailure otherwise."""
    state = expect(http.get(url), 200, "the low-stock threshold")
    below = on_hand < Decimal(state["min_qty"])
    check(
        Decimal(state["qty"]) == on_hand and state["below"] is below and state["alerted"] is below,
        f"the threshold should have seen {on_hand} kg, below {below}: {state}",
    )
    return f"; low-stock threshold {state['min_qty']} kg {'below' if below else 're-armed'}"


def replay(args: argparse.Namespace, work: Path, procs: list[Proc]) -> None:
    """Set up, queue, drain, check, measure the ceiling, print."""
    quiet = {"IOE_LOG_LEVEL": "WARNING"}
    if args.broker in ("embedded", "mosquitto"):
        port = free_port()
        if args.broker == "embedded":
            command = ioe_command("broker", "--port", str(port))
        else:
            binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
            check(Path(binary).exists(), "--broker mosquitto: no mosquitto binary installed")
            command = [binary, "-c", str(mosquitto_conf(work, port))]
        procs.append(Proc(command, work / "broker.log", quiet))
        wait_for_port(port)
        broker_url = f"mqtt://127.0.0.1:{port}"
    else:
        broker_url = args.broker
    db_url = args.db or f"sqlite+aiosqlite:///{work / 'central.db'}"
    central_port = free_port()
    central_url = f"http://127.0.0.1:{central_port}"
    central = Proc(
        ioe_command(
            "central", "run", "--db", db_url, "--mqtt", broker_url, "--port", str(central_port)
        ),
        work / "central.log",
        quiet,
    )
    procs.append(central)
    http = httpx.Client(timeout=60)

    def central_ready() -> bool:
        check(central.popen.poll() is None, f"central exited: {central.output()[-800:]}")
        try:
            return http.get(f"{central_url}/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(central_ready, 60, what="central")
    product = expect(
        http.post(
            f"{central_url}/api/v1/products",
            json={"site": args.product_site, "code": ITEM, "name": "Raw", "uom": "kg"},
        ),
        201,
        "create the product",
    )
    threshold_url = f"{central_url}/api/v1/products/{product['id']}/low-stock"
    if args.low_stock is not None:
        body = {"min_qty": args.low_stock}
        expect(http.put(threshold_url, json=body), 200, "set the low-stock threshold")
    expect(
        http.post(
            f"{central_url}/api/v1/locations",
            json={"site": SITE, "code": LOCATION, "name": "Receiving", "kind": "receiving"},
        ),
        201,
        "create the location",
    )
    edge_port = free_port()
    config = work / "edge.toml"
    provision = Proc(
        provision_command(
            central=central_url,
            site=SITE,
            edge=EDGE,
            mqtt=broker_url,
            out=config,
            port=edge_port,
            data_dir=work / "edge",
        ),
        work / "provision.log",
    )
    try:
        provision.popen.wait(60)
    finally:
        provision.stop()
    check(provision.popen.returncode == 0, f"edge provision failed: {provision.output()[-500:]}")

    enqueue_rate = asyncio.run(fill_queue(config, args.actions))

    started = time.perf_counter()
    edge = Proc(ioe_command("edge", "run", "--config", str(config)), work / "edge.log", quiet)
    procs.append(edge)
    edge_url = f"http://127.0.0.1:{edge_port}"

    def drained() -> bool:
        check(edge.popen.poll() is None, f"the edge exited mid-run: {edge.output()[-800:]}")
        try:
            return http.get(f"{edge_url}/api/v1/queue").json()["depth"] == 0
        except (httpx.HTTPError, KeyError, ValueError):
            return False

    wait_until(drained, max(120.0, args.actions / 50), interval=0.05, what="the queue to drain")
    elapsed = time.perf_counter() - started
    outcome = verify(http, edge_url, central_url, args.actions)
    if args.low_stock is not None:
        outcome["threshold"] = verify_threshold(http, threshold_url, outcome["on_hand"])
    ceiling, duplicates = paho_ceiling(broker_url, args.ceiling_messages)
    rate = args.actions / elapsed
    passed(
        f"{outcome['counts']['applied']:,} of {args.actions:,} actions acked applied; central "
        f"holds {outcome['checked']['lps']:,} LPs and {outcome['checked']['ledger_rows']:,} "
        f"ledger rows, consistent, {outcome['on_hand']:,} kg on hand; "
        f"{args.ceiling_messages:,} of {args.ceiling_messages:,} ceiling messages arrived "
        f"({duplicates} of them twice, QoS 1)" + outcome.get("threshold", "")
    )
    broker = {"embedded": "embedded amqtt", "mosquitto": "own Mosquitto"}.get(args.broker)
    print(f"broker: {broker or broker_url}")
    print(f"central db: {db_url.split('://')[0]}")
    print(f"queued {args.actions} actions offline at {enqueue_rate:,.0f}/s (group commit)")
    print(
        f"drain: {args.actions} actions in {elapsed:.1f}s = {rate:,.0f} actions/s "
        f"(edge start to last ack)"
    )
    print(
        f"raw paho QoS 1 ceiling through the same broker: {ceiling:,.0f} msgs/s (300-byte messages)"
    )
    print(f"ratio actions/s : ceiling msgs/s = {rate / ceiling:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=100_000)
    parser.add_argument(
        "--broker",
        default="embedded",
        help="'embedded' (starts `ioe broker`), 'mosquitto' (starts its own) or an mqtt:// URL",
    )
    parser.add_argument("--db", default="", help="central database URL (default: SQLite file)")
    parser.add_argument("--ceiling-messages", type=int, default=20_000)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"{SMOKE_ACTIONS:,} actions and ceiling messages: checks the benchmark still works",
    )
    parser.add_argument(
        "--product-site",
        default=SITE,
        help="site of the product the actions receive; another makes every action a conflict "
        "(the self-check must fail the run)",
    )
    parser.add_argument(
        "--low-stock",
        metavar="MIN_QTY",
        help="set a low-stock threshold (kg) on the received product before the drain: every "
        "batch checks it (over the final stock, a threshold stays below and each batch reads "
        "the stock)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.actions, args.ceiling_messages = SMOKE_ACTIONS, SMOKE_ACTIONS
    check(args.actions > 0 and args.ceiling_messages > 0, "nothing to measure")

    with process_workdir("ioe-bench-") as (work, procs):
        replay(args, work, procs)


if __name__ == "__main__":
    run_main(main)

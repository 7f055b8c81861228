"""Replay benchmark: drain N queued actions from an edge to central, against the raw paho ceiling.

    python bench/replay.py                      # embedded broker + SQLite, 100,000 actions
    python bench/replay.py --broker mqtt://127.0.0.1:1883 \
        --db postgresql+asyncpg://postgres@127.0.0.1:5432/ioe_bench --actions 100000

N actions are queued on the edge while it has no broker (written straight into its durable
queue, as scans would be), then the edge process starts and the clock runs until every
action is acked and applied at central. In the same run, through the same broker, a plain
paho QoS 1 publisher/subscriber pair measures the round-trip ceiling for 300-byte messages.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge.config import load_config  # noqa: E402
from edge.queue import ActionQueue  # noqa: E402
from harness import free_port, wait_for_port, wait_until  # noqa: E402


def spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [sys.executable, "-m", "ioe", *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "IOE_LOG_LEVEL": "WARNING"},
    )


def paho_ceiling(url: str, count: int, size: int = 300) -> float:
    """Raw paho QoS 1 publish -> broker -> subscriber rate (messages/s), no IOE code."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    host, port = url.removeprefix("mqtt://").split(":")
    topic = f"bench/ceiling/{os.getpid()}"
    received = 0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(*_: object) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    sub = paho.Client(CallbackAPIVersion.VERSION2)
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect(host, int(port))
    sub.loop_start()
    sub.subscribe(topic, qos=1)
    subscribed.wait(10)
    pub = paho.Client(CallbackAPIVersion.VERSION2)
    pub.max_inflight_messages_set(100)
    pub.max_queued_messages_set(0)
    pub.connect(host, int(port))
    pub.loop_start()
    payload = b"x" * size
    window = 500  # stay under a stock Mosquitto's max_queued_messages (1000): no silent drops
    started = time.perf_counter()
    for sent in range(count):
        while sent - received >= window:
            time.sleep(0.0005)
        pub.publish(topic, payload, qos=1)
    if not done.wait(120):
        raise RuntimeError(f"ceiling run lost messages: {received}/{count} arrived")
    elapsed = time.perf_counter() - started
    for client in (pub, sub):
        client.disconnect()
        client.loop_stop()
    return received / elapsed


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
                            "item": "RAW-1",
                            "qty": "5",
                            "uom": "kg",
                            "location": "RECV",
                            "lp": f"B{i:09d}",
                        },
                    )
                    for i in range(offset, min(count, offset + chunk))
                )
            )
    finally:
        await queue.close()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=100_000)
    parser.add_argument(
        "--broker", default="embedded", help="'embedded' (starts `ioe broker`) or an mqtt:// URL"
    )
    parser.add_argument("--db", default="", help="central database URL (default: SQLite file)")
    parser.add_argument("--ceiling-messages", type=int, default=20_000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ioe-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if args.broker == "embedded":
            port = free_port()
            procs.append(spawn(["broker", "--port", str(port)], work / "broker.log"))
            wait_for_port(port)
            broker_url = f"mqtt://127.0.0.1:{port}"
        else:
            broker_url = args.broker
        db_url = args.db or f"sqlite+aiosqlite:///{work / 'central.db'}"
        central_port = free_port()
        central_url = f"http://127.0.0.1:{central_port}"
        procs.append(
            spawn(
                [
                    "central",
                    "run",
                    "--db",
                    db_url,
                    "--mqtt",
                    broker_url,
                    "--port",
                    str(central_port),
                ],
                work / "central.log",
            )
        )
        http = httpx.Client(timeout=30)

        def central_ready() -> bool:
            try:
                return http.get(f"{central_url}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(central_ready, 60, what="central")
        http.post(
            f"{central_url}/api/v1/products", json={"code": "RAW-1", "name": "Raw", "uom": "kg"}
        )
        http.post(
            f"{central_url}/api/v1/locations",
            json={"site": "plant-1", "code": "RECV", "name": "Receiving"},
        )
        edge_port = free_port()
        config = work / "edge.toml"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ioe",
                "edge",
                "provision",
                "--central",
                central_url,
                "--site",
                "plant-1",
                "--edge",
                "bench-edge",
                "--mqtt",
                broker_url,
                "--out",
                str(config),
                "--port",
                str(edge_port),
                "--data-dir",
                str(work / "edge"),
            ],
            check=True,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
        )

        enqueue_rate = asyncio.run(fill_queue(config, args.actions))
        print(f"queued {args.actions} actions offline at {enqueue_rate:,.0f}/s (group commit)")

        started = time.perf_counter()
        procs.append(spawn(["edge", "run", "--config", str(config)], work / "edge.log"))
        edge_url = f"http://127.0.0.1:{edge_port}"

        def drained() -> bool:
            try:
                return http.get(f"{edge_url}/api/v1/queue").json()["depth"] == 0
            except (httpx.HTTPError, KeyError, ValueError):
                return False

        wait_until(drained, 3600, interval=0.05, what="the queue to drain")
        elapsed = time.perf_counter() - started
        rate = args.actions / elapsed
        applied = http.get(f"{central_url}/api/v1/stock-moves", params={"limit": 1}).status_code
        ceiling = paho_ceiling(broker_url, args.ceiling_messages)
        print(f"broker: {'embedded amqtt' if args.broker == 'embedded' else broker_url}")
        print(f"central db: {db_url.split('://')[0]}")
        print(
            f"drain: {args.actions} actions in {elapsed:.1f}s = {rate:,.0f} actions/s "
            f"(edge start to last ack; stock-moves API {applied})"
        )
        print(
            f"raw paho QoS 1 ceiling through the same broker: {ceiling:,.0f} msgs/s "
            f"(300-byte messages)"
        )
        print(f"ratio actions/s : ceiling msgs/s = {rate / ceiling:.2f}")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        print(f"logs in {work}")


if __name__ == "__main__":
    main()

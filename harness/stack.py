"""A real IOE site in processes: a broker that can be killed, central, edges (end-to-end
tests, kiosk tests and benchmarks start them the same way)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from edge.config import load_config
from edge.queue import ActionQueue
from harness import (
    Proc,
    free_port,
    ioe_command,
    provision_command,
    wait_for_port,
    wait_until,
)

SITE = "plant-1"


ENQUEUE_CONCURRENCY = 8  # requests in flight to an edge's local API at once


class KillableBroker:
    """A broker of the test's own (embedded amqtt or Mosquitto) on a free port."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.proc: Proc | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.workdir / f"broker-{self.starts}.log"
        if self.kind == "embedded":
            self.proc = Proc(ioe_command("broker", "--port", str(self.port)), log)
        else:
            conf = self.workdir / "mosquitto.conf"
            conf.write_text(
                f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                "persistence false\nmax_queued_messages 100000\n"
            )
            binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
            self.proc = Proc([binary, "-c", str(conf)], log)
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None


class Stack:
    """Central and edges as subprocesses of the test, with helpers to seed and inspect them."""

    def __init__(self, workdir: Path, *, db_url: str, mqtt_url: str) -> None:
        self.workdir = workdir
        self.db_url = db_url
        self.mqtt_url = mqtt_url
        self.central_port = free_port()
        self.central_url = f"http://127.0.0.1:{self.central_port}"
        self.central: Proc | None = None
        self.central_starts = 0
        self.edges: dict[str, Proc] = {}
        self.edge_configs: dict[str, Path] = {}
        self.edge_ports: dict[str, int] = {}
        self.edge_starts = 0
        self.http = httpx.Client(timeout=30)
        self.central_env: dict[str, str] = {}  # e.g. its broker login

    # -- central -------------------------------------------------------------------------

    def start_central(self, *, shared_subscription: bool = False) -> None:
        self.central_starts += 1
        self.central = Proc(
            ioe_command(
                "central",
                "run",
                "--db",
                self.db_url,
                "--mqtt",
                self.mqtt_url,
                "--port",
                str(self.central_port),
                *(["--shared-subscription"] if shared_subscription else []),
            ),
            self.workdir / f"central-{self.central_starts}.log",
            env=self.central_env,
        )
        wait_until(self._central_up, 60, what=f"central on {self.central_url}")

    def _central_up(self) -> bool:
        if self.central and self.central.popen.poll() is not None:
            raise RuntimeError(f"central exited:\n{self.central.output()[-3000:]}")
        try:
            return self.http.get(f"{self.central_url}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def central_ready(self) -> bool:
        try:
            return self.http.get(f"{self.central_url}/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    def kill_central(self) -> None:
        assert self.central is not None
        self.central.stop()
        self.central = None

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.central_url}/api/v1{path}", **kwargs)
        assert response.status_code < 300, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json()

    def seed(self) -> None:
        """Reference data the actions in the tests refer to."""
        self.api(
            "POST",
            "/products",
            json={"site": SITE, "code": "RAW-1", "name": "Raw material", "uom": "kg"},
        )
        self.api(
            "POST",
            "/products",
            json={"site": SITE, "code": "FG-1", "name": "Finished good", "uom": "ea"},
        )
        for code in ("RECV", "A-01", "A-02"):
            self.api("POST", "/locations", json={"site": SITE, "code": code, "name": code})

    # -- edges ---------------------------------------------------------------------------

    def provision_edge(self, edge_id: str, *, ack_timeout: float = 3.0) -> Path:
        config = self.workdir / f"{edge_id}.toml"
        port = free_port()
        proc = Proc(
            provision_command(
                central=self.central_url,
                site=SITE,
                edge=edge_id,
                mqtt=self.mqtt_url,
                out=config,
                port=port,
                data_dir=self.workdir / f"{edge_id}-data",
                extra=("--ack-timeout", str(ack_timeout)),
            ),
            self.workdir / f"provision-{edge_id}.log",
        )
        assert proc.popen.wait(60) == 0, proc.output()
        proc.stop()
        self.edge_configs[edge_id] = config
        self.edge_ports[edge_id] = port
        return config

    def start_edge(self, edge_id: str) -> None:
        self.edge_starts += 1
        proc = Proc(
            ioe_command("edge", "run", "--config", str(self.edge_configs[edge_id])),
            self.workdir / f"edge-{edge_id}-{self.edge_starts}.log",
        )
        self.edges[edge_id] = proc
        wait_until(lambda: self._edge_up(edge_id), 60, what=f"edge {edge_id} API")

    def _edge_up(self, edge_id: str) -> bool:
        proc = self.edges[edge_id]
        if proc.popen.poll() is not None:
            raise RuntimeError(f"edge exited:\n{proc.output()[-3000:]}")
        try:
            return self.http.get(f"{self.edge_url(edge_id)}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def kill_edge(self, edge_id: str) -> None:
        self.edges.pop(edge_id).stop()

    def edge_url(self, edge_id: str) -> str:
        return f"http://127.0.0.1:{self.edge_ports[edge_id]}"

    def edge_secret(self, edge_id: str) -> str:
        return str(tomllib.loads(self.edge_configs[edge_id].read_text())["secret"])

    def enqueue_receipts(self, edge_id: str, count: int, *, start: int = 0) -> list[str]:
        """Enqueue ``count`` lp.receive actions through the edge's local API, several requests
        at a time as several stations would (the queue groups their commits); their ids."""
        url = f"{self.edge_url(edge_id)}/api/v1/actions"

        def post(i: int) -> str:
            response = self.http.post(
                url,
                json={
                    "type": "lp.receive",
                    "station": "station-1",
                    "operator": "op-1",
                    "body": {
                        "item": "RAW-1",
                        "qty": "5",
                        "uom": "kg",
                        "location": "RECV",
                        "lp": f"LP{i:08d}",
                    },
                },
            )
            assert response.status_code == 201, response.text
            assert response.json()["state"] == "queued"
            return str(response.json()["id"])

        with ThreadPoolExecutor(max_workers=ENQUEUE_CONCURRENCY) as pool:
            return list(pool.map(post, range(start, start + count)))

    def enqueue_offline(self, edge_id: str, count: int) -> list[str]:
        """Enqueue ``count`` lp.receive actions into a stopped edge's queue file, through the
        same queue code its local API and scanners use (the queue groups their commits), for
        tests that need a backlog to exist rather than to watch it being made; their ids."""
        assert edge_id not in self.edges, "the edge must be stopped: it owns its queue file"

        async def enqueue() -> list[str]:
            config = load_config(self.edge_configs[edge_id])
            queue = await ActionQueue.open(
                config.queue_path, site=config.site, edge=config.edge_id, secret=config.secret
            )
            async with queue:
                actions = await asyncio.gather(
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
                                "lp": f"LP{i:08d}",
                            },
                        )
                        for i in range(count)
                    )
                )
            return [action.id for action in actions]

        return asyncio.run(enqueue())

    def queue(self, edge_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"{self.edge_url(edge_id)}/api/v1/queue").json())

    def action_state(self, edge_id: str, action_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"{self.edge_url(edge_id)}/api/v1/actions/{action_id}").json())

    # -- central's database, read directly: the ledger is the truth ----------------------

    def sql(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        async def run() -> list[tuple[Any, ...]]:
            engine = create_async_engine(self.db_url)
            try:
                async with engine.connect() as conn:
                    return [tuple(row) for row in await conn.execute(text(query), params)]
            finally:
                await engine.dispose()

        return asyncio.run(run())

    def db_check(self) -> tuple[int, str]:
        """``ioe db check`` on central's database, as an operator runs it: exit code, output."""
        done = subprocess.run(
            ioe_command("db", "check", "--db", self.db_url),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr

    def receipts(self) -> int:
        return int(self.sql("SELECT count(*) FROM stock_moves WHERE kind = 'RECEIPT'")[0][0])

    def assert_exactly_once(self, ids: list[str]) -> None:
        """Every action applied once: one dedup record and one ledger row each, no extras."""
        doubled = self.sql(
            "SELECT action_id, count(*) FROM stock_moves GROUP BY action_id HAVING count(*) > 1"
        )
        assert doubled == [], f"actions applied twice: {doubled[:5]}"
        ledger = {
            row[0] for row in self.sql("SELECT action_id FROM stock_moves WHERE kind = 'RECEIPT'")
        }
        assert ledger == set(ids), (
            f"missing {len(set(ids) - ledger)}, unexpected {len(ledger - set(ids))}"
        )
        processed = self.sql("SELECT count(*), count(DISTINCT action_id) FROM processed_actions")
        assert processed[0] == (len(ids), len(ids))
        lps = self.sql("SELECT count(*) FROM license_plates")
        assert lps[0][0] == len(ids)

    def wait_drained(self, edge_id: str, count: int, timeout: float = 120) -> None:
        wait_until(
            lambda: self.queue(edge_id)["depth"] == 0 and self.receipts() >= count,
            timeout,
            interval=0.5,
            what=f"{count} actions drained from {edge_id}",
        )

    def close(self) -> None:
        for proc in list(self.edges.values()):
            proc.stop()
        if self.central:
            self.central.stop()
        self.http.close()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )

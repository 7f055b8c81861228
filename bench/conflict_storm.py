"""Conflict storm: an edge's backlog that now conflicts drains as fast as one that applies.

    python bench/conflict_storm.py                        # embedded broker + SQLite
    python bench/conflict_storm.py --broker mosquitto \
        --db postgresql+asyncpg://postgres@127.0.0.1:5432/ioe_bench_storm   # existing, empty
    python bench/conflict_storm.py --smoke                # 1,000 actions per replay

An edge back from a long outage may carry thousands of actions that no longer apply: labels
received meanwhile by another edge, work orders closed. In one run, through one broker and one
central, three edges each queue N ``lp.receive`` actions offline and drain them in turn, timed
from the edge's start to its last ack as bench/replay.py does: one whose actions all apply, one
whose actions all conflict (``LP_ALREADY_EXISTS``: each label was received first by a seed
edge, drained untimed before), and one where every other action conflicts.

Then the run checks itself before it prints a figure: every action in each edge's queue has
the outcome it must have (applied, or conflict LP_ALREADY_EXISTS with a conflict id); central's
conflict inbox holds exactly the conflicting actions, each under the id its edge was told and
with the envelope the edge sent; and central holds one LP and one ledger row per receipt
applied, consistent. Otherwise it exits 1. A PostgreSQL database named in --db must exist and
be empty.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checks import check, expect, passed, run_main  # noqa: E402
from bench.replay import mosquitto_conf  # noqa: E402
from central.db.engine import make_engine  # noqa: E402
from central.db.tables import conflicts  # noqa: E402
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

SITE, ITEM, LOCATION = "plant-1", "RAW-1", "RECV"
CONFLICT = "LP_ALREADY_EXISTS"
SMOKE_ACTIONS = 1_000
BATCH = 200
QUIET = {"IOE_LOG_LEVEL": "WARNING"}
LABELS = {"applied": "all applied", "conflict": "all conflict", "half": "half conflict"}


def plan(mix: str, count: int, seeds: list[str]) -> list[str]:
    """The labels a mix receives; "S..." labels are the seed edge's, so they conflict."""
    if mix == "seed":
        return seeds
    if mix == "conflict":
        return seeds[:count]
    if mix == "half":
        taken = seeds[count:]
        return [taken[i // 2] if i % 2 else f"H{i:09d}" for i in range(count)]
    return [f"A{i:09d}" for i in range(count)]


class Storm:
    """One broker and one central; edges provisioned, filled and drained one at a time."""

    def __init__(self, args: argparse.Namespace, work: Path, procs: list[Proc]) -> None:
        self.args, self.work, self.procs = args, work, procs
        self.http = httpx.Client(timeout=60)
        self.db_url = args.db or f"sqlite+aiosqlite:///{work / 'central.db'}"
        self.broker_url = self._start_broker()
        self.central_url = self._start_central()

    def _start_broker(self) -> str:
        if self.args.broker not in ("embedded", "mosquitto"):
            return str(self.args.broker)
        port = free_port()
        if self.args.broker == "embedded":
            command = ioe_command("broker", "--port", str(port))
        else:
            binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
            check(Path(binary).exists(), "--broker mosquitto: no mosquitto binary installed")
            command = [binary, "-c", str(mosquitto_conf(self.work, port))]
        self.procs.append(Proc(command, self.work / "broker.log", QUIET))
        wait_for_port(port)
        return f"mqtt://127.0.0.1:{port}"

    def _start_central(self) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        central = Proc(
            ioe_command(
                "central",
                "run",
                "--db",
                self.db_url,
                "--mqtt",
                self.broker_url,
                "--port",
                str(port),
            ),  # fmt: skip
            self.work / "central.log",
            QUIET,
        )
        self.procs.append(central)

        def ready() -> bool:
            check(central.popen.poll() is None, f"central exited: {central.output()[-800:]}")
            try:
                return self.http.get(f"{url}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 60, what="central")
        location = {"site": SITE, "code": LOCATION, "name": "Receiving", "kind": "receiving"}
        for path, body in (
            ("products", {"site": SITE, "code": ITEM, "name": "Raw", "uom": "kg"}),
            ("locations", location),
        ):
            expect(self.http.post(f"{url}/api/v1/{path}", json=body), 201, f"create {path}")
        return url

    def provision(self, edge: str) -> tuple[Path, int]:
        """An edge's config (and its API port), made by `ioe edge provision`."""
        port = free_port()
        config = self.work / f"{edge}.toml"
        provision = Proc(
            provision_command(
                central=self.central_url,
                site=SITE,
                edge=edge,
                mqtt=self.broker_url,
                out=config,
                port=port,
                data_dir=self.work / edge,
            ),
            self.work / f"provision-{edge}.log",
        )
        try:
            provision.popen.wait(60)
        finally:
            provision.stop()
        check(provision.popen.returncode == 0, f"provision {edge}: {provision.output()[-500:]}")
        return config, port

    def drain(self, edge: str, numbers: list[str]) -> tuple[float, Path]:
        """Queue one receipt per label offline, start the edge, time it until its queue is
        empty; returns the seconds and the edge's queue file."""
        config, port = self.provision(edge)
        queue_file = asyncio.run(fill_queue(config, numbers))
        started = time.perf_counter()
        proc = Proc(
            ioe_command("edge", "run", "--config", str(config)), self.work / f"{edge}.log", QUIET
        )
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"

        def drained() -> bool:
            check(proc.popen.poll() is None, f"{edge} exited mid-run: {proc.output()[-800:]}")
            try:
                return self.http.get(f"{url}/api/v1/queue").json()["depth"] == 0
            except (httpx.HTTPError, KeyError, ValueError):
                return False

        wait_until(drained, max(120.0, len(numbers) / 50), interval=0.05, what=f"{edge} to drain")
        elapsed = time.perf_counter() - started
        proc.terminate()
        return elapsed, queue_file


async def fill_queue(config_path: Path, numbers: list[str]) -> Path:
    """Queue one lp.receive per label as concurrent scans would arrive (group commit)."""
    config = load_config(config_path)
    path = Path(config.data_dir) / "queue.db"
    queue = await ActionQueue.open(
        path, site=config.site, edge=config.edge_id, secret=config.secret
    )
    try:
        for offset in range(0, len(numbers), 500):
            await asyncio.gather(
                *(
                    queue.enqueue(
                        type="lp.receive",
                        station="station-1",
                        operator="op-1",
                        body={"item": ITEM, "qty": "5", "uom": "kg", "location": LOCATION, "lp": n},
                    )
                    for n in numbers[offset : offset + 500]
                )
            )
        stats = await queue.stats()
    finally:
        await queue.close()
    check(stats.depth == len(numbers), f"the queue should hold {len(numbers)}: {stats}")
    return path


def edge_outcomes(queue_file: Path, mix: str) -> dict[str, tuple[int, str]]:
    """Check each action's final state in the edge's queue; the conflicts' ids and envelopes."""
    with sqlite3.connect(f"file:{queue_file}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id, state, code, conflict_id, envelope FROM actions").fetchall()
    found: dict[str, tuple[int, str]] = {}
    for action_id, state, code, conflict_id, envelope in rows:
        label = json.loads(envelope)["body"]["lp"]
        want = "conflict" if label.startswith("S") and mix != "seed" else "applied"
        got = (state, code if state == "conflict" else None, conflict_id is not None)
        check(
            got == (want, CONFLICT if want == "conflict" else None, want == "conflict"),
            f"{mix}: action {action_id} (label {label}) should be {want}"
            f"{' ' + CONFLICT + ' with a conflict id' if want == 'conflict' else ''}: got "
            f"state {state}, code {code}, conflict id {conflict_id}",
        )
        if state == "conflict":
            found[action_id] = (conflict_id, envelope)
    return found


async def central_inbox(db_url: str) -> dict[str, tuple[int, str]]:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            query = select(conflicts.c.action_id, conflicts.c.id, conflicts.c.envelope)
            return {row.action_id: (row.id, row.envelope) for row in await conn.execute(query)}
    finally:
        await engine.dispose()


def storm(args: argparse.Namespace, work: Path, procs: list[Proc]) -> None:
    """Seed, drain the three mixes, check, print."""
    run = Storm(args, work, procs)
    n = args.actions
    seeds = [f"S{i:09d}" for i in range(n + n // 2)]
    if args.skip_seed:
        seeds_received = 0
    else:
        run.drain("seed-edge", plan("seed", n, seeds))
        edge_outcomes(work / "seed-edge" / "queue.db", "seed")
        seeds_received = len(seeds)
    times: dict[str, float] = {}
    expected: dict[str, tuple[int, str]] = {}
    counts: dict[str, dict[str, int]] = {}
    for mix in ("applied", "conflict", "half"):
        times[mix], queue_file = run.drain(f"{mix}-edge", plan(mix, n, seeds))
        found = edge_outcomes(queue_file, mix)
        counts[mix] = {"applied": n - len(found), "conflict": len(found)}
        expected.update(found)
    inbox = asyncio.run(central_inbox(run.db_url))
    check(
        inbox.keys() == expected.keys(),
        f"the conflict inbox should hold the {len(expected)} conflicting actions: it holds "
        f"{len(inbox)}, {len(inbox.keys() - expected.keys())} not expected, "
        f"{len(expected.keys() - inbox.keys())} missing",
    )
    wrong = [
        i
        for i, (cid, env) in expected.items()
        if inbox[i][0] != cid or json.loads(inbox[i][1]) != json.loads(env)
    ]
    check(not wrong, f"{len(wrong)} conflicts differ from what their edge sent or was told")
    receipts = seeds_received + sum(c["applied"] for c in counts.values())
    report = expect(
        run.http.get(f"{run.central_url}/api/v1/inventory/check", params={"site": SITE}),
        200,
        "central consistency check",
    )
    check(
        report["ok"] and report["checked"] == {"lps": receipts, "ledger_rows": receipts},
        f"central should hold {receipts} LPs and ledger rows, consistent: {report['checked']}, "
        f"problems {report['problems'][:3]}",
    )
    passed(
        f"3 replays of {n:,} actions: {counts['applied']['applied']:,} applied; "
        f"{counts['conflict']['conflict']:,} conflict {CONFLICT}; "
        f"{counts['half']['applied']:,} applied and {counts['half']['conflict']:,} conflict; "
        f"the conflict inbox holds exactly those {len(expected):,} under the ids the edges were "
        f"told, with their envelopes; central holds {receipts:,} LPs and {receipts:,} ledger "
        f"rows ({len(seeds):,} seeded), consistent"
    )
    broker = {"embedded": "embedded amqtt", "mosquitto": "own Mosquitto"}.get(args.broker)
    print(f"broker: {broker or run.broker_url}; central db: {run.db_url.split('://')[0]}")
    batches = -(-n // BATCH)
    for mix, took in times.items():
        print(
            f"{LABELS[mix]:<14} drain: {n} actions in {took:.1f}s = {n / took:,.0f} actions/s "
            f"({took / batches * 1000:.1f} ms per batch of {BATCH}, edge start to last ack)"
        )
    for mix in ("conflict", "half"):
        print(f"drain time, {LABELS[mix]} / all applied: {times[mix] / times['applied']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=20_000, help="actions per replay")
    parser.add_argument(
        "--broker",
        default="embedded",
        help="'embedded' (starts `ioe broker`), 'mosquitto' (starts its own) or an mqtt:// URL",
    )
    parser.add_argument("--db", default="", help="central database URL (default: SQLite file)")
    parser.add_argument(
        "--smoke", action="store_true", help=f"{SMOKE_ACTIONS:,} actions per replay"
    )
    parser.add_argument(
        "--skip-seed",
        action="store_true",
        help="leave out the LPs the conflicts collide with, so they apply instead "
        "(the self-check must fail the run)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.actions = SMOKE_ACTIONS
    check(args.actions > 1, "nothing to measure")
    with process_workdir("ioe-storm-") as (work, procs):
        storm(args, work, procs)


if __name__ == "__main__":
    run_main(main)

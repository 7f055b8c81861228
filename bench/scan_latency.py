"""Scan to durable: scanner bytes in -> the scan's action committed, against a raw SQLite commit.

    python bench/scan_latency.py                  # 2,000 scans at 1 station, 2,000 at 8 at once
    python bench/scan_latency.py --samples 5000 --interval-ms 10-30
    python bench/scan_latency.py --smoke          # 48 scans each: does it still work?

Each station has a real SerialScanner on a pseudo-terminal of its own (the driver opens the
slave; the bench writes to the master as the scanner would), run through a ScannerHub into one
StationRunner and one ActionQueue (WAL, synchronous=FULL, group commit), as `ioe edge run`
wires them. Every station is an lp.move station in put-away: LOC:A-01 once, then each LP scan
is one lp.move. The clock starts just before the LP's bytes are written and stops when the
station's ``feedback`` event for that scan arrives, which is published only after the
action's COMMIT. Stations scan every 20-50 ms with jitter, like people with hand scanners.

The baseline, in the same run on the same disk: one small row inserted and committed with
the stdlib sqlite3 (WAL, synchronous=FULL), measured right before and right after the scans.
The goal: p99 of scan to durable within 2 ms of the raw commit's p99. The run prints whether
it is met but does not fail on it (the machine is noisy). It does fail (exit 1, no figure)
when the work is wrong: every scan must make exactly one queued lp.move for the LP scanned,
in scan order per station, none refused, the queue's depth must equal the scans, and no
driver may leave "connected" while the stations scan.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checks import check, passed, run_main  # noqa: E402
from edge.config import EdgeConfig  # noqa: E402
from edge.events import EventBus, Subscription  # noqa: E402
from edge.queue import ActionQueue  # noqa: E402
from edge.scanners.base import RawScan  # noqa: E402
from edge.scanners.hub import ScanHandler, ScannerHub  # noqa: E402
from edge.scanners.serial import SerialScanner, SerialScannerConfig  # noqa: E402
from edge.stations import StationRunner  # noqa: E402

SECRET = "bench-secret-0123456789abcdef"
LOCATION = "A-01"
GOAL_MS = 2.0  # p99 of scan to durable within this of the raw commit's p99
SMOKE = {"samples": 48, "raw_commits": 200, "paced_commits": 48}
STEP = 10.0  # seconds: bound on every wait for the edge (connect, a scan's feedback)


@dataclass
class Scanner:
    """One station's scanner: a pseudo-terminal pair, the LPs it sent and when."""

    station: str
    master: int
    path: str
    lps: list[str] = field(default_factory=list)
    written: list[float] = field(default_factory=list)  # t0 of each LP scan

    @classmethod
    def open(cls, station: str) -> Scanner:
        """A new pseudo-terminal; the driver opens its slave by path, as it would a tty."""
        master, slave = os.openpty()
        path = os.ttyname(slave)
        os.close(slave)
        return cls(station, master, path)

    def close(self) -> None:
        """Unplug: the driver's reads fail from now on."""
        os.close(self.master)


@dataclass
class Probe:
    """When each scan reached the points between the pty and the feedback, by (station, lp)."""

    handed: dict[tuple[str, str], float] = field(default_factory=dict)  # driver -> station
    enqueue: dict[tuple[str, str], float] = field(default_factory=dict)  # flow -> queue
    committed: dict[tuple[str, str], float] = field(default_factory=dict)  # enqueue returned


@dataclass
class Run:
    """What one configuration (N stations) measured, and what it checks afterwards."""

    stations: int
    latencies: list[float]  # ms, every LP scan, write -> feedback
    parts: dict[str, list[float]]  # ms per segment, same scans
    commits: int  # transactions the queue took for the LP scans


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least q % at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def raw_commits(
    path: Path, count: int, *, pause: tuple[float, float] | None = None, seed: int = 1
) -> list[float]:
    """ms per commit of one small row, stdlib sqlite3, WAL, synchronous=FULL.

    Back to back, or with ``pause`` (LOW, HIGH ms, uniform) before each, as one station scans:
    a commit after an idle pause costs more (the disk and the CPU have gone quiet), and the
    scans meet exactly that.
    """
    pacing = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        check(mode == "wal", f"raw commit: the temp dir's filesystem gave journal_mode {mode}")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        timings = []
        for i in range(count):
            if pause is not None:
                time.sleep(pacing.uniform(*pause) / 1000)
            started = time.perf_counter()
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t (body) VALUES (?)", (f'{{"lp": "LP{i:08d}"}}',))
            conn.execute("COMMIT")
            timings.append((time.perf_counter() - started) * 1000)
        rows = conn.execute("SELECT COUNT(*) FROM t").fetchone()[0]
        check(rows >= count, f"raw commit: {rows} rows after {count} commits")
        return timings
    finally:
        conn.close()


def edge_config(names: list[str], *, idle_timeout: float) -> EdgeConfig:
    """An edge with the bench's stations: lp.move, a standing operator, no default location."""
    station = {"action": "lp.move", "operator": "op-1", "idle_timeout_seconds": idle_timeout}
    return EdgeConfig.model_validate(
        {
            "site": "bench",
            "edge_id": "scan",
            "secret": SECRET,
            "stations": [{"name": name, **station} for name in names],
        }
    )


class Bench:
    """N stations scanning at once through real drivers, the hub, the runner and the queue."""

    def __init__(
        self,
        work: Path,
        stations: int,
        scans: int,
        interval: tuple[float, float],
        *,
        idle_timeout: float,
        seed: int,
    ) -> None:
        self.work = work
        self.names = [f"st{i + 1}" for i in range(stations)]
        self.scans = scans  # LP scans per station
        self.interval = interval
        self.idle_timeout = idle_timeout
        self.random = random.Random(seed)
        self.bus = EventBus(buffer_size=4096)
        self.feedback: dict[str, list[tuple[float, dict[str, Any]]]] = {n: [] for n in self.names}
        self.scanner_events: list[dict[str, Any]] = []
        self.probe = Probe()
        self._arrived = asyncio.Event()

    async def run(self) -> Run:
        """Set up, scan, wait for every feedback, check the work; the measured Run."""
        scanners = {name: Scanner.open(name) for name in self.names}
        config = edge_config(self.names, idle_timeout=self.idle_timeout)
        queue = await ActionQueue.open(
            self.work / f"queue-{len(self.names)}.db",
            site=config.site,
            edge=config.edge_id,
            secret=SECRET,
            events=self.bus,
        )
        subscription = self.bus.subscribe()
        listener = asyncio.create_task(self._listen(subscription), name="bench-events")
        tasks: list[asyncio.Task[None]] = []
        try:
            runner = StationRunner(config, queue, self.bus)
            self._instrument(queue)
            hub = ScannerHub(self.bus)
            handle = self._handler(runner)
            for name, scanner in scanners.items():
                driver = SerialScanner(
                    SerialScannerConfig(kind="serial", path=scanner.path, terminator="cr")
                )
                tasks.append(asyncio.create_task(hub.run(name, driver, handle), name=name))
            await self._until(
                lambda: all(
                    (s := hub.state(n)) is not None and s.status == "connected" for n in self.names
                ),
                "every scanner driver to connect",
            )
            await self._put_away(scanners)
            during = len(self.scanner_events)
            commits_before = queue.commits
            await asyncio.gather(*(self._scan(s) for s in scanners.values()))
            total = self.scans * len(self.names)
            await self._until(
                lambda: all(len(self.feedback[n]) == 1 + self.scans for n in self.names),
                f"a feedback event for each of the {total} LP scans",
                count=lambda: sum(len(f) - 1 for f in self.feedback.values()),
            )
            commits = queue.commits - commits_before
            states = {n: s.status for n, s in hub.states().items()}
            changes = self.scanner_events[during:]
            check(
                not changes and set(states.values()) == {"connected"},
                f"every driver should stay connected while the stations scan: states {states}, "
                f"changes {changes}",
            )
            check(
                subscription.dropped == 0,
                f"the bench's event subscriber fell behind: {subscription.dropped} events lost",
            )
            await self._check_queue(queue, scanners)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            subscription.close()
            await queue.close()
            for scanner in scanners.values():
                scanner.close()
        return self._measured(scanners, commits)

    def _handler(self, runner: StationRunner) -> ScanHandler:
        """The agent's scan handler (edge/agent.py), with a probe where the driver hands on."""

        async def handle(station: str, raw: RawScan) -> None:
            self.probe.handed[station, raw.data] = time.perf_counter()
            await runner.handle_scan(station, raw.data)

        return handle

    def _instrument(self, queue: ActionQueue) -> None:
        """Probes around the queue's enqueue: when the flow asks, when the commit answers."""
        enqueue = queue.enqueue

        async def timed(**kwargs: Any) -> Any:
            key = (kwargs["station"], kwargs["body"].get("lp", ""))
            self.probe.enqueue[key] = time.perf_counter()
            result = await enqueue(**kwargs)
            self.probe.committed[key] = time.perf_counter()
            return result

        queue.enqueue = timed  # type: ignore[method-assign]

    async def _listen(self, subscription: Subscription) -> None:
        """Stamp each feedback event the moment the subscriber sees it."""
        async for event in subscription:
            if event.kind == "feedback":
                self.feedback[event.data["station"]].append((time.perf_counter(), event.data))
                self._arrived.set()
            elif event.kind == "scanner":
                self.scanner_events.append(event.data)
                self._arrived.set()

    async def _until(
        self, done: Callable[[], bool], what: str, count: Callable[[], int] | None = None
    ) -> None:
        """Wait until ``done()``; fail when nothing moves for STEP seconds."""
        last = count() if count else None
        while not done():
            self._arrived.clear()
            try:
                async with asyncio.timeout(STEP):
                    await self._arrived.wait()
            except TimeoutError:
                now = count() if count else None
                if count is None or now == last:
                    got = f" ({now} arrived)" if now is not None else ""
                    check(False, f"timed out waiting for {what}{got}")
                last = now

    async def _put_away(self, scanners: dict[str, Scanner]) -> None:
        """LOC:A-01 at every station: each is then in put-away, one lp.move per LP."""
        for scanner in scanners.values():
            os.write(scanner.master, f"LOC:{LOCATION}\r".encode())
        await self._until(
            lambda: all(self.feedback[n] for n in self.names), "the LOC: scans' feedback"
        )
        for name in self.names:
            data = self.feedback[name][0][1]
            check(
                data["level"] == "info" and data["step"] == "putaway",
                f"{name}: LOC:{LOCATION} should put the station in put-away, got "
                f"{data['level']} {data['code']}: {data['message']}",
            )

    async def _scan(self, scanner: Scanner) -> None:
        """Scan LPs at human pace: a jittered pause, then the LP's bytes and CR."""
        low, high = self.interval
        number = self.names.index(scanner.station) + 1
        for i in range(self.scans):
            await asyncio.sleep(self.random.uniform(low, high) / 1000)
            lp = f"LP{number:02d}{i:07d}"
            data = f"{lp}\r".encode()
            scanner.lps.append(lp)
            scanner.written.append(time.perf_counter())
            os.write(scanner.master, data)

    async def _check_queue(self, queue: ActionQueue, scanners: dict[str, Scanner]) -> None:
        """Each scan's feedback names one queued lp.move of its LP, in scan order per station."""
        total = self.scans * len(self.names)
        refused = [
            (n, d["code"], d["message"])
            for n in self.names
            for _, d in self.feedback[n][1:]
            if d["level"] != "ok" or d["action_type"] != "lp.move" or not d["action_id"]
        ]
        check(
            not refused,
            f"every LP scan should queue one lp.move: {len(refused)} of {total} did not, "
            f"e.g. {refused[:3]}",
        )
        stats = await queue.stats()
        check(
            stats.depth == stats.counts["queued"] == total,
            f"the queue should hold the {total} actions scanned, queued: {stats}",
        )
        envelopes = await queue.pending_batch(total + 1)  # the stored envelopes, in seq order
        by_id = {envelope["id"]: envelope for envelope in envelopes}
        check(len(envelopes) == total, f"{len(envelopes)} actions stored for {total} LP scans")
        for name, scanner in scanners.items():
            ids = [d["action_id"] for _, d in self.feedback[name][1:]]
            check(len(set(ids)) == len(ids), f"{name}: one feedback named an action twice")
            stored = [by_id[i] for i in ids if i in by_id]
            check(len(stored) == len(ids), f"{name}: feedback named actions the queue lacks")
            seqs = [envelope["seq"] for envelope in stored]
            check(seqs == sorted(seqs), f"{name}: actions stored out of scan order: {seqs[:20]}")
            got = [(e["type"], e["station"], e["body"]) for e in stored]
            want = [("lp.move", name, {"lp": lp, "to_location": LOCATION}) for lp in scanner.lps]
            wrong = [(g, w) for g, w in zip(got, want, strict=True) if g != w]
            check(
                not wrong,
                f"{name}: actions do not match the LPs scanned, e.g. (stored, scanned) {wrong[:3]}",
            )

    def _measured(self, scanners: dict[str, Scanner], commits: int) -> Run:
        latencies: list[float] = []
        parts: dict[str, list[float]] = {key: [] for key in PARTS}
        for name, scanner in scanners.items():
            for lp, t0, (t1, _) in zip(
                scanner.lps, scanner.written, self.feedback[name][1:], strict=True
            ):
                key = (name, lp)
                handed = self.probe.handed[key]
                asked, answered = self.probe.enqueue[key], self.probe.committed[key]
                latencies.append((t1 - t0) * 1000)
                for part, seconds in zip(
                    PARTS,
                    (handed - t0, asked - handed, answered - asked, t1 - answered),
                    strict=True,
                ):
                    parts[part].append(seconds * 1000)
        return Run(len(self.names), latencies, parts, commits)


PARTS = {
    "pty": "pty + driver (write -> scan handed to the station)",
    "decode": "decode + flow (-> enqueue called)",
    "enqueue": "enqueue (-> COMMIT answered: writer wait, thread hops, fsync)",
    "after": "after the commit (-> feedback event seen)",
}


def _stations(count: int) -> str:
    return f"{count} station{'s' * (count > 1)}"


def row(label: str, values: Sequence[float]) -> str:
    """One table line: n, p50, p99, max in ms."""
    return (
        f"{label:<36} {len(values):>7,} {percentile(values, 50):>8.3f} "
        f"{percentile(values, 99):>8.3f} {max(values):>8.3f}"
    )


def interval(text: str) -> tuple[float, float]:
    """ "20-50" -> (20.0, 50.0) ms between one station's scans."""
    low, _, high = text.partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give ms as LOW-HIGH, e.g. 20-50") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: LOW-HIGH with 0 <= LOW <= HIGH")
    return bounds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000, help="LP scans per configuration")
    parser.add_argument("--stations", default="1,8", help="configurations: stations at once")
    parser.add_argument(
        "--interval-ms",
        type=interval,
        default=(20.0, 50.0),
        help="pause between one station's scans, LOW-HIGH ms, uniform",
    )
    parser.add_argument(
        "--raw-commits", type=int, default=2000, help="back-to-back raw commits, before and after"
    )
    parser.add_argument(
        "--paced-commits",
        type=int,
        default=500,
        help="raw commits paced like one station's scans (--interval-ms), before and after",
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the SQLite files go")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=120.0,
        help="the stations' idle_timeout_seconds (edge.toml's default: 120); one shorter than "
        "the pause between scans drops the put-away before each LP, so no scan makes an action "
        "and the run must fail",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"{SMOKE['samples']} scans per configuration, {SMOKE['raw_commits']} raw commits "
        f"back to back and {SMOKE['paced_commits']} paced",
    )
    args = parser.parse_args()
    if args.smoke:
        args.samples, args.raw_commits = SMOKE["samples"], SMOKE["raw_commits"]
        args.paced_commits = SMOKE["paced_commits"]
    counts = [int(n) for n in args.stations.split(",")]
    check(min(*counts, args.raw_commits, args.paced_commits) > 0, "nothing to measure")
    check(all(args.samples % n == 0 for n in counts), "--samples must divide by each station count")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(dir=args.dir) as name:
        work = Path(name)
        before = raw_commits(work / "raw-before.db", args.raw_commits)
        paced_before = raw_commits(
            work / "paced-before.db", args.paced_commits, pause=args.interval_ms, seed=args.seed
        )
        for stations in counts:
            bench = Bench(
                work,
                stations,
                args.samples // stations,
                args.interval_ms,
                idle_timeout=args.idle_timeout,
                seed=args.seed,
            )
            runs.append(await bench.run())
        after = raw_commits(work / "raw-after.db", args.raw_commits)
        paced_after = raw_commits(
            work / "paced-after.db", args.paced_commits, pause=args.interval_ms, seed=args.seed + 1
        )
    configs = " and ".join(_stations(run.stations) for run in runs)
    passed(
        f"{configs}, {args.samples:,} LP scans each through real serial drivers on "
        "pseudo-terminals: every scan queued exactly one lp.move of its LP, in scan order per "
        "station, none refused; queue depth = scans; every driver connected throughout"
    )
    raw, paced = before + after, paced_before + paced_after
    low, high = args.interval_ms
    paced_label = f"raw commit, paced {low:g}-{high:g} ms"
    print(f"{'':<36} {'n':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(row("raw commit, back to back, before", before))
    print(row(f"{paced_label}, before", paced_before))
    for run in runs:
        print(row(f"scan to durable, {_stations(run.stations)}", run.latencies))
    print(row("raw commit, back to back, after", after))
    print(row(f"{paced_label}, after", paced_after))
    verdicts = []
    for baseline, samples in (("back to back", raw), ("paced", paced)):
        gaps = [percentile(run.latencies, 99) - percentile(samples, 99) for run in runs]
        each = ", ".join(
            f"{_stations(run.stations)} {gap:+.3f} ms" for run, gap in zip(runs, gaps, strict=True)
        )
        print(f"p99(scan) - p99(raw commit, {baseline}): {each}")
        verdicts.append(f"{baseline}: {'met' if max(gaps) <= GOAL_MS else 'NOT met'}")
    print(f"goal, p99 within {GOAL_MS:g} ms of the raw commit's: {'; '.join(verdicts)}")
    for run in runs:
        print(
            f"transactions, {_stations(run.stations)}: {run.commits:,} for "
            f"{len(run.latencies):,} scans"
        )
    for run in runs:
        print(f"where the time goes, {_stations(run.stations)} (p50 / p99 ms):")
        for key, label in PARTS.items():
            values = run.parts[key]
            print(f"  {label:<64} {percentile(values, 50):>7.3f} / {percentile(values, 99):.3f}")


if __name__ == "__main__":
    run_main(lambda: asyncio.run(main()))

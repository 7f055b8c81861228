"""Plant-scale benchmark: read queries on a generated plant history (1M ledger rows at 1.0).

    python bench/plant_scale.py [--db URL] [--scale 1.0] [--seed 7] [--repeat 1000]
    python bench/plant_scale.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/ioe_bench_plant
    python bench/plant_scale.py --smoke     # scale 0.005, 10 calls, a temporary SQLite file

At scale 1.0: 10,000 products, 50,000 BOM items, 1,000 active work orders, 200,000 LPs and
1,000,000 ledger rows (bench/plant_history.py makes them, consistent and deterministic), and
on the order side (bench/plant_orders.py) 20,000 sales orders with their lines, pick tasks,
shipments that dispatched 3,000 finished LPs, 40 edges, and a processed action per floor
action. Then each query runs --repeat times on random keys through the service functions on
one connection, as an API call does: LP lookup, available inventory by product and by
location, a 10-level genealogy trace up and down from an LP and down from a lot, the control
tower and its topology, and the consistency check (three runs). Every answer is checked
against the generated history (a trace: every LP it reached, at its shallowest depth, with
the listing and the summary; the control tower: every number); a query slower than --budget
seconds in all stops early. A PostgreSQL database named in --db is created when missing
(--drop removes it at the end); a database that already holds LPs is refused unless --reuse
says to measure it as it is (the history is regenerated in memory with the same seed and
scale). A wrong answer, a generated history short of its sizes or a failed consistency check
stops the run with exit status 1 before any figure is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine  # noqa: E402
from sqlalchemy.types import TypeDecorator  # noqa: E402

from bench.checks import BenchFailure, check, passed, run_main  # noqa: E402
from bench.plant_history import (  # noqa: E402
    GENEALOGY_COLUMNS,
    LEDGER_COLUMNS,
    LEVELS,
    SITES,
    History,
    Sizes,
)
from bench.plant_orders import EXPLICIT_IDS as ORDER_IDS  # noqa: E402
from bench.plant_orders import WINDOW_DAYS, OrderBook  # noqa: E402
from central.db.engine import make_engine  # noqa: E402
from central.db.migrate import upgrade  # noqa: E402
from central.db.tables import license_plates, metadata  # noqa: E402
from central.inventory import consistency, genealogy, lot_trace, queries, stock  # noqa: E402
from central.tower import overview, topology  # noqa: E402

CHUNK = 10_000
RECALL_DEPTH = 3
SMOKE_SCALE, SMOKE_REPEAT = 0.005, 10
BUDGET = 90.0  # seconds per query at most
WARM = 20  # untimed calls first: caches, prepared statements, compiled SQL
LOAD_ORDER = (
    "locations",
    "products",
    "boms",
    "bom_items",
    "work_orders",
    "work_order_materials",
    "license_plates",
    "lp_genealogy",
    "stock_moves",
    "reservations",
    "quality_holds",
)
EXPLICIT_IDS = (
    "locations",
    "products",
    "boms",
    "work_orders",
    "work_order_materials",
    "license_plates",
)
ON_HAND = ("available", "on_hold")


def table_rows(history: History) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """Every table's (columns, rows as tuples), ready to insert."""
    out: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = {}
    for name, rows in {**history.rows, "license_plates": history.lp_rows()}.items():
        columns = tuple(rows[0]) if rows else ()
        out[name] = columns, [tuple(row[c] for c in columns) for row in rows]
    out["stock_moves"] = LEDGER_COLUMNS, history.ledger
    out["lp_genealogy"] = GENEALOGY_COLUMNS, history.genealogy
    return out


async def _insert(
    conn: AsyncConnection, name: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Bulk insert: COPY on PostgreSQL, executemany in chunks on SQLite; types applied."""
    table = metadata.tables[name]
    if conn.dialect.name == "postgresql" and name != "products":  # products: JSON column
        dialect = conn.dialect
        typed = [
            (i, table.c[c].type)
            for i, c in enumerate(columns)
            if isinstance(table.c[c].type, TypeDecorator)
        ]
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for start in range(0, len(rows), CHUNK * 10):
            records = []
            for row in rows[start : start + CHUNK * 10]:
                values = list(row)
                for i, kind in typed:  # Qty -> micro-units, UtcDateTime -> aware UTC
                    values[i] = kind.process_bind_param(values[i], dialect)
                records.append(values)
            await raw.copy_records_to_table(name, records=records, columns=list(columns))
        return
    for start in range(0, len(rows), CHUNK):
        await conn.execute(
            insert(table),
            [dict(zip(columns, row, strict=True)) for row in rows[start : start + CHUNK]],
        )


async def load(engine: AsyncEngine, history: History, book: OrderBook) -> dict[str, float]:
    """Write the history in three transactions and its order side in a fourth; seconds per
    table."""
    data, took = table_rows(history), {}
    orders = book.table_rows()
    data.update({f"{name} (orders)": rows for name, rows in orders.items()})
    for group in (
        LOAD_ORDER[:6],
        LOAD_ORDER[6:8],
        LOAD_ORDER[8:],
        tuple(f"{name} (orders)" for name in orders),
    ):
        async with engine.begin() as conn:
            for name in group:
                started = time.perf_counter()
                columns, rows = data[name]
                if rows:
                    await _insert(conn, name.removesuffix(" (orders)"), columns, rows)
                took[name] = time.perf_counter() - started
                progress(f"loaded {len(rows):,} rows into {name} in {took[name]:.1f} s")
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for name in EXPLICIT_IDS + ORDER_IDS:  # rows came with ids: move sequences past them
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"
                        f" (SELECT max(id) FROM {name}))"
                    )
                )
    if engine.dialect.name == "postgresql":
        # Autovacuum does this within minutes of a bulk insert (PostgreSQL 13+ vacuums
        # insert-only tables too): statistics for the planner, and the visibility map that
        # lets index-only scans (the genealogy walk) skip the table.
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            started = time.perf_counter()
            await conn.execute(text("VACUUM ANALYZE"))
            took["vacuum"] = time.perf_counter() - started
    return took


async def checkpoint(engine: AsyncEngine) -> None:
    """On SQLite, move the write-ahead log into the database file and empty it, as a running
    central's automatic checkpoints keep it. Right after the bulk load (or a migration of a
    reused file) the log holds hundreds of MB, and every page read would look it up first."""
    if engine.dialect.name != "sqlite":
        return
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection  # outside any transaction
        assert raw is not None
        cursor = await raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, _, _ = await cursor.fetchone()
    check(not busy, "the write-ahead log could not be checkpointed")


def progress(message: str) -> None:
    """A line on stderr while the run goes on (a full run takes minutes)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def summary(samples: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[max(0, math.ceil(len(ordered) * 0.99) - 1)]
    return statistics.median(ordered) * 1000, p99 * 1000, ordered[-1] * 1000


async def timed(
    keys: Iterable[Any],
    call: Callable[[Any], Awaitable[Any]],
    verify: Callable[[Any, Any], int],
    warm: int = WARM,
    budget: float | None = None,
) -> tuple[list[float], list[int]]:
    """Seconds per call over ``keys`` (the first ``warm`` untimed), each answer verified;
    also the size of each answer (rows or nodes) as ``verify`` counts it. A slow query stops
    after ``budget`` seconds: a few hundred samples of a 400 ms plan say all there is to say."""
    samples, sizes = [], []
    deadline = time.perf_counter() + (BUDGET if budget is None else budget)
    for n, key in enumerate(keys):
        started = time.perf_counter()
        answer = await call(key)
        elapsed = time.perf_counter() - started
        sizes.append(verify(key, answer))
        if n >= warm:
            samples.append(elapsed)
            if started > deadline:
                break
    return samples, sizes


def reference_ms(rounds: int = 5) -> float:
    """Median milliseconds of a fixed piece of Python work (tuples sorted, dicts built): how
    fast this machine is at the moment. On shared hardware the same code measures slower when
    the neighbours are busy; a run whose reference is slow too says so."""
    samples = []
    gc.disable()  # the machine's speed, not the collector's (whose cost depends on the heap)
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            rows = sorted((i % 97, i, str(i)) for i in range(20_000))
            nodes = [{"n": n, "k": k, "children": []} for k, n, _ in rows]
            samples.append(time.perf_counter() - started)
            del rows, nodes
    finally:
        gc.enable()
    return statistics.median(samples) * 1000


def tree_numbers(node: genealogy.TraceNode, depth: int = 0) -> Iterable[tuple[str, int]]:
    """(LP number, depth) of every node of a trace tree."""
    yield node["lp"]["number"], depth
    for child in node["children"]:
        yield from tree_numbers(child, depth + 1)


def tower_numbers(answer: overview.ControlTower) -> dict[str, Any]:
    """The control tower's answer in the shape of OrderBook.tower's."""
    health = answer.health
    return {
        "orders": asdict(answer.orders),
        "shipments": asdict(answer.shipments),
        "pick_tasks": asdict(answer.pick_tasks),
        "work_orders": asdict(answer.work_orders),
        "edges": {
            "online": answer.edges.online,
            "offline": answer.edges.offline,
            "items": sorted(
                (e.site, e.edge_id, bool(e.online), e.queue_depth, e.oldest_pending_ts, e.last_seen)
                for e in answer.edges.items
            ),
        },
        "conflicts": asdict(answer.conflicts),
        "lps_on_hold": {
            "lps": answer.lps_on_hold.lps,
            "by_uom": [(h.uom, h.lps, h.qty) for h in answer.lps_on_hold.by_uom],
        },
        "health": {
            name: (score.numerator, score.denominator, score.percent)
            for name, score in (
                ("on_time_shipment", health.on_time_shipment),
                ("pick_accuracy", health.pick_accuracy),
                ("schedule_adherence", health.schedule_adherence),
            )
        },
    }


class Bench:
    """The sampled keys, the expected answers and the timings of one run."""

    def __init__(self, history: History, book: OrderBook, repeat: int, seed: int) -> None:
        self.history, self.repeat, self.rng = history, repeat, random.Random(seed + 1)
        self.book = book
        # What the control tower must answer for each way of asking: every site, or one.
        self.scopes: list[str | None] = [None, *SITES]
        scope_sites = {s: set(SITES) if s is None else {s} for s in self.scopes}
        self.tower = {s: book.tower(sites) for s, sites in scope_sites.items()}
        self.topology = {s: book.topology(sites) for s, sites in scope_sites.items()}
        self.on_hand: dict[tuple[str, str], Decimal] = {}
        self.at_location: dict[tuple[str, str], Decimal] = {}
        for lp in history.lps:
            if lp.status in ON_HAND:
                key = (lp.site, lp.product.code)
                self.on_hand[key] = self.on_hand.get(key, Decimal(0)) + lp.qty
                where = (lp.site, history.locations[lp.location][1])
                self.at_location[where] = self.at_location.get(where, Decimal(0)) + lp.qty
        self.seed, self.warm, self.budget = seed, min(WARM, repeat), BUDGET
        self.results: dict[str, tuple[float, float, float]] = {}
        self.timing: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.sizes: dict[str, list[int]] = {}
        self.reference: dict[str, float] = {}  # reference_ms() before and after the queries
        self.answers = 0  # answers checked against the history
        self.checked = consistency.CheckCounts(lps=0, ledger_rows=0)  # what the check saw
        self.truncated: dict[str, int] = {}  # traces that stopped at the link cap, per query
        self.by_number = {lp.number: lp for lp in history.lps}
        self.lots: dict[tuple[str, str], list[Any]] = {}  # (product code, lot) -> its LPs
        for lp in history.lps:
            self.lots.setdefault((lp.product.code, lp.lot), []).append(lp)
        self.adjacent: dict[str, dict[int, list[int]]] = {"down": {}, "up": {}}
        for source, target, *_ in history.genealogy:
            self.adjacent["down"].setdefault(source, []).append(target)
            self.adjacent["up"].setdefault(target, []).append(source)

    def sample(self, population: list[Any]) -> list[Any]:
        """``repeat`` random picks (with replacement), plus the warm-up's."""
        return [self.rng.choice(population) for _ in range(self.repeat + self.warm)]

    async def run(self, conn: AsyncConnection) -> None:
        """Every measured query, in turn, on one connection."""
        h = self.history
        await self._measure(
            "LP lookup",
            self.sample(h.lps),
            lambda lp: queries.get_license_plate(conn, number=lp.number),
            self._lp_ok,
        )
        products = [p for p in h.products if (p.site, p.code) in self.on_hand]
        await self._measure(
            "available, by product",
            self.sample(products),
            lambda p: stock.available(conn, sites=[p.site], product=p.code),
            lambda p, rows: self._sum_ok(rows, self.on_hand[(p.site, p.code)], "product"),
        )
        bins = list(self.at_location)
        await self._measure(
            "available, by location",
            self.sample(bins),
            lambda b: stock.available(conn, sites=[b[0]], location=b[1]),
            lambda b, rows: self._sum_ok(rows, self.at_location[b], "location"),
        )
        tops = [lp for lp in h.lps if lp.level == LEVELS]
        await self._measure(
            "genealogy up, 10 levels",
            self.sample(tops),
            lambda lp: genealogy.trace(
                conn, number=lp.number, direction="up", depth=LEVELS, sites=None
            ),
            lambda lp, tree: self._trace_ok(tree, h.chain_root(lp), "up"),
        )
        pairs = [(h.chain_root(lp), lp) for lp in self.sample(tops)]
        await self._measure(
            "genealogy down, 10 levels",
            pairs,
            lambda pair: genealogy.trace(
                conn, number=pair[0].number, direction="down", depth=LEVELS, sites=None
            ),
            lambda pair, tree: self._trace_ok(tree, pair[1], "down"),
        )
        # A recall of a plant whose BOMs are three levels deep (raw -> intermediate ->
        # finished -> pallet) walks three links: the same queries at that depth.
        await self._measure(
            f"genealogy up, {RECALL_DEPTH} levels",
            self.sample(tops),
            lambda lp: genealogy.trace(
                conn, number=lp.number, direction="up", depth=RECALL_DEPTH, sites=None
            ),
            lambda lp, tree: self._trace_ok(tree, h.chain_root(lp, RECALL_DEPTH), "up"),
        )
        near = [(h.chain_root(lp, RECALL_DEPTH), lp) for lp in self.sample(tops)]
        await self._measure(
            f"genealogy down, {RECALL_DEPTH} levels",
            near,
            lambda pair: genealogy.trace(
                conn, number=pair[0].number, direction="down", depth=RECALL_DEPTH, sites=None
            ),
            lambda pair, tree: self._trace_ok(tree, pair[1], "down"),
        )
        raw_lots = sorted(key for key, lps in self.lots.items() if lps[0].level == 0)
        await self._measure(
            f"genealogy down from a lot, {RECALL_DEPTH} levels",
            self.sample(raw_lots),
            lambda key: lot_trace.trace_lot(
                conn, lot=key[1], item=key[0], direction="down", depth=RECALL_DEPTH, sites=None
            ),
            self._lot_trace_ok,
        )
        await self._measure(
            "genealogy down from a lot, 10 levels",
            self.sample(raw_lots),
            lambda key: lot_trace.trace_lot(
                conn, lot=key[1], item=key[0], direction="down", depth=LEVELS, sites=None
            ),
            self._lot_trace_ok,
        )
        book = self.book
        await self._measure(
            "control tower",
            self.sample(self.scopes),
            lambda site: overview.control_tower(
                conn,
                sites=None if site is None else [site],
                site=site,
                at=book.at,
                days=WINDOW_DAYS,
            ),
            self._tower_ok,
        )
        await self._measure(
            "control tower topology",
            self.sample(self.scopes),
            lambda site: topology.topology(
                conn, sites=None if site is None else [site], site=site, today=book.today
            ),
            self._topology_ok,
        )
        for run in range(3):
            started = time.perf_counter()
            report = await consistency.check(conn, sites=None)
            took = time.perf_counter() - started
            if not report.ok or report.checked != consistency.CheckCounts(
                lps=len(h.lps), ledger_rows=len(h.ledger)
            ):
                raise BenchFailure(
                    f"the check disagrees with the history: {report.checked} {report.problems[:3]}"
                )
            self.checked = report.checked
            self.results[f"consistency check, run {run + 1}"] = (took * 1000,) * 3
            progress(f"consistency check: ok in {took:.2f} s")

    async def _measure(
        self,
        name: str,
        keys: list[Any],
        call: Callable[[Any], Awaitable[Any]],
        verify: Callable[[Any, Any], int],
    ) -> None:
        """Time one query over ``keys`` and keep its p50/p99/max and answer sizes."""
        cut = 0

        def counted(key: Any, answer: Any) -> int:
            nonlocal cut
            cut += bool(getattr(answer, "truncated", False))
            return verify(key, answer)

        samples, self.sizes[name] = await timed(keys, call, counted, self.warm, self.budget)
        self.truncated[name] = cut
        check(samples, f"{name}: no timed call")
        self.answers += len(self.sizes[name])
        self.results[name] = summary(samples)
        self.calls[name] = len(samples)
        progress(
            f"{name}: p50 {self.results[name][0]:.2f} ms, p99 {self.results[name][1]:.2f}"
            f" ms over {len(samples)} calls"
        )

    def _lp_ok(self, lp: Any, row: queries.LicensePlate) -> int:
        """The LP as the history left it: qty, place, status."""
        if (row.number, row.qty, row.location, row.status) != (
            lp.number,
            Decimal(lp.qty),
            self.history.locations[lp.location][1],
            lp.status,
        ):
            raise BenchFailure(f"LP {lp.number}: {row} does not match the history")
        return 1

    def _tower_ok(self, site: str | None, answer: overview.ControlTower) -> int:
        """Every number of the control tower is what the generated rows say."""
        self.check_tower(site, tower_numbers(answer))
        return answer.orders.open

    def check_tower(self, site: str | None, got: dict[str, Any]) -> None:
        """The control tower's numbers (as ``tower_numbers`` gives them) are the expected."""
        want = self.tower[site]
        if got != want:
            wrong = [k for k in want if got.get(k) != want[k]]
            raise BenchFailure(
                f"control tower of {site or 'every site'}: {wrong} differ: "
                f"{[(got.get(k), want[k]) for k in wrong][:2]}"
            )

    def _topology_ok(self, site: str | None, answer: topology.Topology) -> int:
        """Every location of the site(s) is listed, each with the stock the rows say."""
        got = {
            (entry.site, place.code, s.uom): (
                s.lps,
                s.on_hand,
                s.available,
                s.reserved,
                s.on_hold,
                s.expired,
                s.in_transit,
                s.in_transit_lps,
            )
            for entry in answer.sites
            for place in entry.locations
            for s in place.stock
        }
        listed = sum(len(entry.locations) for entry in answer.sites)
        places = sum(site in (None, s) for s, _, _ in self.history.locations.values())
        want = self.topology[site]
        if got != want or listed != places:
            wrong = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            raise BenchFailure(
                f"topology of {site or 'every site'}: {listed} of {places} locations; "
                f"{len(wrong)} stock rows differ, e.g. "
                f"{[(k, got.get(k), want.get(k)) for k in wrong[:2]]}"
            )
        return len(got)

    def http_tower_ok(self, site: str | None, response: Any) -> int:
        """The day-independent part of GET /control-tower is what the rows say."""
        if response.status_code != 200:
            raise BenchFailure(f"GET /control-tower: {response.status_code} {response.text}")
        body, want = response.json(), self.tower[site]
        got = {
            "orders": body["orders"]["by_status"],
            "shipments": body["shipments"],
            "pending": body["pick_tasks"]["pending"],
            "work_orders": body["work_orders"],
            "edges": (body["edges"]["online"], body["edges"]["offline"]),
            "conflicts": body["conflicts"],
            "held": [
                (h["uom"], h["lps"], Decimal(h["qty"])) for h in body["lps_on_hold"]["by_uom"]
            ],
        }
        expected = {
            "orders": want["orders"]["by_status"],
            "shipments": want["shipments"],
            "pending": want["pick_tasks"]["pending"],
            "work_orders": want["work_orders"],
            "edges": (want["edges"]["online"], want["edges"]["offline"]),
            "conflicts": want["conflicts"],
            "held": want["lps_on_hold"]["by_uom"],
        }
        if got != expected:
            raise BenchFailure(f"GET /control-tower for {site}: {got} is not {expected}")
        return 1

    def http_topology_ok(self, site: str | None, response: Any) -> int:
        """GET /control-tower/topology holds each site's stock on hand, per unit."""
        if response.status_code != 200:
            raise BenchFailure(f"GET /topology: {response.status_code} {response.text[:300]}")
        got = {
            (entry["site"], total["uom"]): Decimal(total["on_hand"])
            for entry in response.json()["sites"]
            for total in entry["totals"]
            if Decimal(total["on_hand"])
        }
        want: dict[tuple[str, str], Decimal] = {}
        for (where, _, uom), row in self.topology[site].items():
            if row[1]:
                want[(where, uom)] = want.get((where, uom), Decimal(0)) + row[1]
        if got != want:
            raise BenchFailure(f"GET /topology for {site}: {got} is not {want}")
        return 1

    @staticmethod
    def _sum_ok(rows: list[stock.AvailableStock], expected: Decimal, what: str) -> int:
        """The on-hand rows add up to what the history holds there."""
        if sum(row.on_hand for row in rows) != expected:
            raise BenchFailure(f"available by {what}: {rows[:3]} do not sum to {expected}")
        return len(rows)

    def _trace_ok(self, result: genealogy.Trace, end: Any, direction: str) -> int:
        """The trace answers what the history says (see _reached_ok); untruncated, it reaches
        the other end of the known 10-link chain."""
        start = self.by_number[result.lp]
        trees = [result.tree]
        self._reached_ok(f"trace {direction} of {result.lp}", [start], trees, result, direction)
        if not result.truncated and end.number not in dict(tree_numbers(result.tree)):
            raise BenchFailure(f"trace {direction} of {result.lp} misses {end.number}")
        return result.nodes

    def _lot_trace_ok(self, key: tuple[str, str], result: lot_trace.LotTrace) -> int:
        """The lot trace started at every LP of the lot and answers what the history says."""
        lps = self.lots[key]
        if result.start != sorted(lp.number for lp in lps):
            raise BenchFailure(f"lot {key}: started at {result.start[:5]}, not at its LPs")
        self._reached_ok(f"lot {key}", lps, result.trees, result, "down")
        return result.nodes

    def _reached_ok(
        self,
        what: str,
        starts: list[Any],
        trees: list[genealogy.TraceNode],
        result: genealogy.Trace | lot_trace.LotTrace,
        direction: str,
    ) -> None:
        """Every LP the trees show sits at its shallowest depth from the starts in the history
        (a breadth-first walk of the generated links); an untruncated answer shows them all,
        a truncated one every LP above its deepest level. The listing names each LP shown
        once, as the history left it, and the summary adds them up."""
        expected = self._shallowest(starts, direction, result.depth)
        shown: dict[str, int] = {}
        for tree in trees:
            for number, depth in tree_numbers(tree):
                shown[number] = min(depth, shown.get(number, depth))
        deepest = max(shown.values())
        wanted = {
            number: depth
            for number, depth in expected.items()
            if not result.truncated or depth < deepest
        }
        wrong = [n for n, d in shown.items() if expected.get(n) != d]
        missing = [n for n in wanted if n not in shown]
        if wrong or missing:
            raise BenchFailure(f"{what}: shown at wrong depths {wrong[:3]}, missing {missing[:3]}")
        listed = [lp["number"] for lp in result.lps]
        if sorted(listed) != sorted(shown) or result.nodes != len(listed):
            raise BenchFailure(f"{what}: the listing is not the LPs of the tree")
        lots: dict[tuple[str, str | None], list[Any]] = {}
        for item in result.lps:
            lp = self.by_number[item["number"]]
            if (item["qty"], item["status"], item["lot"]) != (Decimal(lp.qty), lp.status, lp.lot):
                raise BenchFailure(f"{what}: {item} does not match the history")
            lots.setdefault((lp.product.code, lp.lot), []).append(lp)
        summary = result.summary
        got = {(r["product"], r["lot"]): (r["lps"], r["qty"]) for r in summary["lots"]}
        want = {k: (len(v), Decimal(sum(lp.qty for lp in v))) for k, v in lots.items()}
        held = sorted(n for n in listed if self.by_number[n].status == "on_hold")
        used = sorted(n for n in listed if self.by_number[n].status == "consumed")
        if got != want or summary["on_hold"] != held or summary["consumed"] != used:
            raise BenchFailure(f"{what}: the summary does not add up the LPs reached")

    def _shallowest(self, starts: list[Any], direction: str, depth: int) -> dict[str, int]:
        """LP number -> its shallowest depth within ``depth`` links of ``starts``."""
        links = self.adjacent[direction]
        seen = {lp.id: 0 for lp in starts}
        queue = deque(seen)
        while queue:
            node = queue.popleft()
            if seen[node] < depth:
                for far in links.get(node, ()):
                    if far not in seen:
                        seen[far] = seen[node] + 1
                        queue.append(far)
        return {self.history.lps[lp_id - 1].number: d for lp_id, d in seen.items()}


async def over_http(engine: AsyncEngine, db_url: str, bench: Bench) -> None:
    """The LP lookup and the trace up once more through the whole API in-process (routing,
    auth, validation, JSON), to show what the API adds to the service call."""
    import httpx

    from central.api.app import create_app
    from central.settings import CentralSettings

    app = create_app(CentralSettings(db_url=db_url), engine=engine)
    tops = [lp for lp in bench.history.lps if lp.level == LEVELS]
    calls = (
        ("LP lookup over HTTP (in-process)", bench.history.lps, "/api/v1/license-plates/{}"),
        (
            "genealogy up over HTTP (in-process)",
            tops,
            "/api/v1/license-plates/{}/genealogy?direction=up&depth=10",
        ),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for name, population, path in calls:

            async def get(lp: Any, path: str = path) -> Any:
                return await client.get(path.format(lp.number))

            def ok(lp: Any, response: Any) -> int:
                body = response.json()
                if response.status_code != 200 or lp.number not in (
                    body.get("number"),
                    body.get("lp"),
                ):
                    raise BenchFailure(f"GET {lp.number}: {response.status_code} {body}")
                return 1

            samples, answers = await timed(
                bench.sample(population), get, ok, bench.warm, bench.budget
            )
            check(samples, f"{name}: no timed call")
            bench.answers += len(answers)
            bench.results[name], bench.calls[name] = summary(samples), len(samples)
            progress(f"{name}: p50 {bench.results[name][0]:.2f} ms")
        await tower_over_http(client, bench)


async def tower_over_http(client: Any, bench: Bench) -> None:
    """GET /control-tower and its topology through the whole API. The API's "now" is the
    machine's, not the history's: the windowed scores and the due and expiry dates are then
    beside the point, so the answer is checked on everything that does not depend on the
    day (the counts by status, edges, conflicts, holds; each site's stock on hand)."""
    for name, path, ok in (
        ("control tower over HTTP (in-process)", "/api/v1/control-tower", bench.http_tower_ok),
        (
            "topology over HTTP (in-process)",
            "/api/v1/control-tower/topology",
            bench.http_topology_ok,
        ),
    ):

        async def get(site: str | None, path: str = path) -> Any:
            return await client.get(path, params={} if site is None else {"site": site})

        samples, answers = await timed(
            bench.sample(bench.scopes), get, ok, bench.warm, bench.budget
        )
        check(samples, f"{name}: no timed call")
        bench.answers += len(answers)
        bench.results[name], bench.calls[name] = summary(samples), len(samples)
        progress(f"{name}: p50 {bench.results[name][0]:.2f} ms")


async def prepare_database(db_url: str) -> None:
    """On PostgreSQL, create the database named in the URL when it does not exist."""
    url = make_url(db_url)
    if url.get_backend_name() != "postgresql":
        return
    import asyncpg

    admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    conn = await asyncpg.connect(admin)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.database):
            await conn.execute(f'CREATE DATABASE "{url.database}"')
    finally:
        await conn.close()


async def drop_database(db_url: str) -> None:
    """Remove the benchmark's PostgreSQL database (or SQLite file)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.database}{suffix}").unlink(missing_ok=True)
        return
    import asyncpg

    admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await conn.close()


async def run(
    db_url: str,
    scale: float,
    seed: int,
    repeat: int,
    *,
    reuse: bool = False,
    http: bool = True,
    budget: float = BUDGET,
) -> Bench:
    """Generate (or reuse), load, measure; answers the Bench with its results."""
    await prepare_database(db_url)
    await upgrade(db_url)
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            present = await conn.execute(select(func.count()).select_from(license_plates))
            present_lps = int(present.scalar_one())
        if present_lps and not reuse:
            raise SystemExit(
                f"{db_url} already holds {present_lps} LPs: pass --reuse to measure "
                "it as it is, or name a fresh database"
            )
        started = time.perf_counter()
        history = History(Sizes.at(scale), seed)
        generated = time.perf_counter() - started
        progress(f"history generated in {generated:.1f} s")
        history.verify()  # its sizes, and each LP's qty and status against its own ledger rows
        started = time.perf_counter()
        book = OrderBook(history, scale, seed)
        book.verify()  # shipped LPs against their SHIP rows; reservations within their LPs
        progress(f"order side generated in {time.perf_counter() - started:.1f} s")
        bench = Bench(history, book, repeat, seed)
        bench.budget = budget
        bench.timing["generate"] = generated
        if not present_lps:
            started = time.perf_counter()
            bench.timing.update(await load(engine, history, book))
            bench.timing["load"] = time.perf_counter() - started
        await checkpoint(engine)
        # The generated history (millions of objects) stays here to verify the answers; a
        # central process holds none of it. Frozen out of the collector's scans, it is not
        # charged to whichever query happens to set off a full collection.
        gc.collect()
        gc.freeze()
        bench.reference["before"] = reference_ms()
        async with engine.connect() as conn:
            conn = await conn.execution_options(ioe_read_only=True)
            await bench.run(conn)
        bench.reference["after"] = reference_ms()
        if http:
            await over_http(engine, db_url, bench)
    finally:
        await engine.dispose()
    return bench


def report(db_url: str, bench: Bench) -> None:
    """Print the dataset, the load times and the table of results."""
    h = bench.history
    check(
        bench.checked == consistency.CheckCounts(lps=len(h.lps), ledger_rows=len(h.ledger)),
        f"the consistency check should have seen the whole history: {bench.checked}",
    )
    passed(
        f"{bench.answers:,} answers matched the generated history; the consistency check "
        f"answered ok 3 times on {bench.checked.lps:,} LPs and "
        f"{bench.checked.ledger_rows:,} ledger rows"
    )
    print(
        f"database: {make_url(db_url).get_backend_name()}, seed {bench.seed}, "
        f"{bench.repeat} calls per query"
    )
    print(
        f"  {len(h.products):,} products, {len(h.rows['bom_items']):,} BOM items, "
        f"{len(h.rows['work_orders']):,} work orders "
        f"({sum(w['status'] in ('released', 'in_progress') for w in h.rows['work_orders']):,}"
        f" active), {len(h.lps):,} LPs, {len(h.ledger):,} ledger rows, "
        f"{len(h.genealogy):,} genealogy links"
    )
    rows = bench.book.rows
    print(
        f"  order side: {len(rows['sales_orders']):,} sales orders, "
        f"{len(rows['sales_order_lines']):,} lines, {len(rows['pick_tasks']):,} pick tasks, "
        f"{len(rows['shipments']):,} shipments ({len(rows['shipment_lps']):,} LPs shipped), "
        f"{len(rows['edges'])} edges, {len(rows['processed_actions']):,} processed actions, "
        f"{len(rows['conflicts']):,} conflicts"
    )
    print("  " + ", ".join(f"{name} {secs:.1f} s" for name, secs in bench.timing.items()))
    if bench.reference:
        print(
            "  machine: reference work "
            + ", ".join(f"{ms:.1f} ms {when}" for when, ms in bench.reference.items())
            + " the queries (the lower, the quieter the machine)"
        )
    print(
        f"  {'query':<38} {'calls':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  "
        "answer size: mean / p99"
    )
    for name, (p50, p99, top) in bench.results.items():
        sizes = bench.sizes.get(name)
        size = (
            f"  {statistics.mean(sizes):.0f} / {sorted(sizes)[len(sizes) * 99 // 100]}"
            if sizes
            else ""
        )
        if bench.truncated.get(name):
            size += f" ({bench.truncated[name]} of {len(sizes or ())} truncated)"
        print(f"  {name:<38} {bench.calls.get(name, 1):>6} {p50:8.2f} {p99:8.2f} {top:8.2f}{size}")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", default=None, help="default: /tmp/ioe-plant-scale.db (--smoke: a temporary file)"
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1000)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure a database this benchmark filled before (same seed/scale)",
    )
    parser.add_argument("--drop", action="store_true", help="remove the database at the end")
    parser.add_argument("--no-http", action="store_true", help="skip the in-process API calls")
    parser.add_argument(
        "--budget",
        type=float,
        default=BUDGET,
        help="seconds one query may take in all before it stops early",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"scale {SMOKE_SCALE}, {SMOKE_REPEAT} calls per query, on a temporary SQLite file "
        "unless --db names one: checks the benchmark still works",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ioe-plant-") as work:
        if args.smoke:
            args.scale, args.repeat = SMOKE_SCALE, SMOKE_REPEAT
            args.db = args.db or f"sqlite+aiosqlite:///{work}/plant.db"
        args.db = args.db or "sqlite+aiosqlite:////tmp/ioe-plant-scale.db"
        measure(args)


def measure(args: argparse.Namespace) -> None:
    """Run and report the benchmark as the command line asks."""
    try:
        bench = asyncio.run(
            run(
                args.db,
                args.scale,
                args.seed,
                args.repeat,
                reuse=args.reuse,
                http=not args.no_http,
                budget=args.budget,
            )
        )
        report(args.db, bench)
    finally:
        if args.drop:
            asyncio.run(drop_database(args.db))


if __name__ == "__main__":
    run_main(main)

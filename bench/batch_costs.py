"""Where a replay's time goes: the cost of one 200-action batch at each step, measured alone,
for a batch that applies, one whose actions all conflict, and one where half do.

    python bench/batch_costs.py [--db URL] [--batches 30] [--mix applied,conflict,half]
    python bench/batch_costs.py --smoke          # 3 batches per mix: does it still work?

Edge side: reading the batch, marking it sent, recording its acks (SQLite, FULL).
Central side: ActionProcessor.process_message for the batch (verify, dedup, apply or put in
the conflict inbox, commit). Compare their sum with the per-batch round trip of
bench/replay.py: the rest is MQTT transit and the hand-offs between processes.

Each mix has an edge of its own; their batches are measured in turn (applied, conflict, half,
applied, ...) so a change in the machine's load falls on all of them alike. The conflicts are
what an edge back from a long outage carries: receipts of LP numbers another edge received
meanwhile (``LP_ALREADY_EXISTS``), each seeded untimed before the run. Set-up and the final
check go through central's API in-process. The run checks itself before it prints a figure:
every ack must be the expected one (applied, or conflict LP_ALREADY_EXISTS with a conflict id),
each edge queue must count them so, central's conflict inbox must hold exactly the conflicting
actions with their envelopes as sent, and central must hold one LP and one ledger row per
receipt applied, consistent; otherwise it exits 1. A PostgreSQL database named in --db must be
empty (it is migrated here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checks import check, expect, passed, run_main  # noqa: E402
from central.api.app import create_app  # noqa: E402
from central.db.migrate import upgrade  # noqa: E402
from central.db.tables import conflicts  # noqa: E402
from central.settings import CentralSettings  # noqa: E402
from edge.queue import ActionQueue  # noqa: E402
from protocol import Ack, AckResult, ConflictCode, encode_batch  # noqa: E402

BATCH = 200
SITE = "plant-1"
SMOKE_BATCHES = 3
MIXES = ("applied", "conflict", "half")
LABELS = {"applied": "all applied", "conflict": "all conflict", "half": "half conflict"}
CONFLICT = ConflictCode.LP_ALREADY_EXISTS.value


def ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:6.1f} ms"


def receipt(number: str) -> dict[str, Any]:
    """An lp.receive body: 5 kg of RAW-1 at RECV on label ``number``."""
    return {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV", "lp": number}


@dataclass
class Mix:
    """One edge's share of the run: its queue, its LP numbers, and the times of its steps."""

    name: str
    numbers: list[str]  # per action: the label received; "S..." numbers exist already
    queue: Any = None
    steps: dict[str, list[float]] = field(
        default_factory=lambda: {"read": [], "mark": [], "apply": [], "acks": []}
    )
    results: Counter[str] = field(default_factory=Counter)
    conflict_ids: dict[str, str] = field(default_factory=dict)  # action id -> envelope sent

    def expected(self, env: dict[str, Any]) -> str:
        """The outcome an action must get: a seeded number conflicts, a new one applies."""
        return "conflict" if env["body"]["lp"].startswith("S") else "applied"


def plan(mix: str, batches: int, seeds: list[str]) -> list[str]:
    """The label numbers a mix receives, taking the existing ones it needs from ``seeds``."""
    total = BATCH * batches
    if mix == "applied":
        return [f"A{i:09d}" for i in range(total)]
    if mix == "conflict":
        return [seeds.pop() for _ in range(total)]
    return [seeds.pop() if i % 2 else f"H{i:09d}" for i in range(total)]


def seeds_needed(mixes: list[str], batches: int) -> int:
    return BATCH * batches * (("conflict" in mixes) + ("half" in mixes) / 2)


async def main(
    db_url: str, batches: int, product_site: str, mixes: list[str], skip_seed: bool
) -> None:
    work = Path(tempfile.mkdtemp(prefix="ioe-costs-"))
    db_url = db_url or f"sqlite+aiosqlite:///{work / 'central.db'}"
    await upgrade(db_url)
    app = create_app(CentralSettings(db_url=db_url))
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://central")
    try:
        await measure(api, app, work, batches, product_site, db_url, mixes, skip_seed)
    finally:
        await api.aclose()
        await app.state.engine.dispose()


async def open_queue(api: httpx.AsyncClient, work: Path, edge: str) -> ActionQueue:
    """Provision ``edge`` at central and open its durable queue."""
    secret = expect(
        await api.post("/api/v1/edges", json={"site": SITE, "edge_id": edge}),
        201,
        f"provision edge {edge}",
    )["secret"]
    return await ActionQueue.open(work / f"{edge}.db", site=SITE, edge=edge, secret=secret)


async def enqueue(queue: ActionQueue, numbers: list[str]) -> None:
    """Queue one receipt per number, as concurrent scans would arrive (group commit)."""
    for offset in range(0, len(numbers), 1000):
        await asyncio.gather(
            *(
                queue.enqueue(type="lp.receive", station="s1", operator="op-1", body=receipt(n))
                for n in numbers[offset : offset + 1000]
            )
        )


async def seed(api: httpx.AsyncClient, processor: Any, work: Path, numbers: list[str]) -> list[str]:
    """LPs received (untimed) by another edge: the numbers the conflicts reuse."""
    if not numbers:
        return []
    queue = await open_queue(api, work, "cost-seed")
    try:
        await enqueue(queue, numbers)
        while batch := await queue.pending_batch(BATCH):
            await queue.mark_sent([env["id"] for env in batch])
            acks = await processor.process_message(
                encode_batch(batch), topic_site=SITE, topic_edge="cost-seed", via="mqtt"
            )
            bad = [a for a in acks if a.result != AckResult.APPLIED]
            check(
                not bad,
                "seeding: every ack should say applied; first otherwise: "
                f"{bad[0].wire() if bad else None}",
            )
            await queue.apply_acks([Ack.model_validate(a.wire()) for a in acks])
    finally:
        await queue.close()
    return numbers


async def one_batch(processor: Any, mix: Mix, n: int) -> None:
    """Time each step of one batch of ``mix`` and check every ack against what it must be."""
    queue, steps = mix.queue, mix.steps
    edge = f"cost-{mix.name}"
    t0 = time.perf_counter()
    batch = await queue.pending_batch(BATCH)
    t1 = time.perf_counter()
    await queue.mark_sent([env["id"] for env in batch])
    t2 = time.perf_counter()
    acks = await processor.process_message(
        encode_batch(batch), topic_site=SITE, topic_edge=edge, via="mqtt"
    )
    t3 = time.perf_counter()
    await queue.apply_acks([Ack.model_validate(a.wire()) for a in acks])
    t4 = time.perf_counter()
    check(
        len(batch) == len(acks) == BATCH,
        f"{mix.name} batch {n}: {len(batch)} sent, {len(acks)} acks",
    )
    for env, ack in zip(batch, acks, strict=True):
        want = mix.expected(env)
        ok = ack.id == env["id"] and str(ack.result) == want
        if want == "conflict":
            ok = ok and ack.code == CONFLICT and ack.conflict_id is not None
            mix.conflict_ids[env["id"]] = env
        check(
            ok,
            f"{mix.name} batch {n}: every ack should say {want}"
            f"{' ' + CONFLICT if want == 'conflict' else ''}; got {ack.wire()}",
        )
        mix.results[str(ack.result)] += 1
    for name, took in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
        steps[name].append(took)


async def measure(
    api: httpx.AsyncClient,
    app: Any,
    work: Path,
    batches: int,
    product_site: str,
    db_url: str,
    mixes: list[str],
    skip_seed: bool,
) -> None:
    """Set up through the API, time each step per batch, check the outcome, print."""
    processor = app.state.processor
    expect(
        await api.post(
            "/api/v1/products",
            json={"site": product_site, "code": "RAW-1", "name": "Raw", "uom": "kg"},
        ),
        201,
        "create the product",
    )
    expect(
        await api.post(
            "/api/v1/locations",
            json={"site": SITE, "code": "RECV", "name": "Receiving", "kind": "receiving"},
        ),
        201,
        "create the location",
    )
    pool = [f"S{i:09d}" for i in range(int(seeds_needed(mixes, batches)))]
    seeds = await seed(api, processor, work, [] if skip_seed else list(pool))
    runs = [Mix(name, plan(name, batches, pool)) for name in mixes]
    try:
        for mix in runs:
            mix.queue = await open_queue(api, work, f"cost-{mix.name}")
            await enqueue(mix.queue, mix.numbers)
        for n in range(batches):
            for mix in runs:
                await one_batch(processor, mix, n)
        for mix in runs:
            stats = await mix.queue.stats()
            want = {k: v for k, v in mix.results.items() if v}
            got = {k: v for k, v in stats.counts.items() if v}
            check(
                got == want and stats.depth == 0,
                f"the {mix.name} edge queue should count {want}, none open: {stats.counts}",
            )
    finally:
        for mix in runs:
            if mix.queue is not None:
                await mix.queue.close()
    total = BATCH * batches * len(runs)
    expected_conflicts = {i: env for mix in runs for i, env in mix.conflict_ids.items()}
    await check_inbox(app.state.engine, expected_conflicts)
    receipts = len(seeds) + sum(mix.results[str(AckResult.APPLIED)] for mix in runs)
    report = expect(
        await api.get("/api/v1/inventory/check", params={"site": SITE}),
        200,
        "central consistency check",
    )
    check(
        report["ok"] and report["checked"] == {"lps": receipts, "ledger_rows": receipts},
        f"central should hold {receipts} LPs and ledger rows, consistent: "
        f"{report['checked']}, problems {report['problems'][:3]}",
    )
    applied = sum(mix.results[str(AckResult.APPLIED)] for mix in runs)
    passed(
        f"{applied:,} of {total:,} acks applied and {len(expected_conflicts):,} conflict "
        f"{CONFLICT}, each as expected; the conflict inbox holds exactly those "
        f"{len(expected_conflicts):,} with their envelopes; central holds {receipts:,} LPs and "
        f"{receipts:,} ledger rows ({len(seeds):,} seeded), consistent"
    )
    report_figures(runs, db_url, batches)


async def check_inbox(engine: Any, expected: dict[str, dict[str, Any]]) -> None:
    """The conflict inbox holds exactly the conflicting actions, each with its envelope."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(conflicts.c.action_id, conflicts.c.envelope))).all()
    stored = {row.action_id: json.loads(row.envelope) for row in rows}
    check(
        stored.keys() == expected.keys(),
        f"the conflict inbox should hold the {len(expected)} conflicting actions: it holds "
        f"{len(stored)}, {len(stored.keys() - expected.keys())} not expected, "
        f"{len(expected.keys() - stored.keys())} missing",
    )
    wrong = [i for i, env in expected.items() if stored[i] != env]
    check(not wrong, f"{len(wrong)} conflicts do not hold the envelope sent, e.g. {wrong[:1]}")


def report_figures(runs: list[Mix], db_url: str, batches: int) -> None:
    """Per mix, the median of each step; then each mix's central time against all-applied."""
    print(f"database: {db_url.split('://')[0]}, {batches} batches of {BATCH} per mix, in turn")
    for mix in runs:
        s = mix.steps
        apply = s["apply"]
        total = [sum(x) for x in zip(*s.values(), strict=True)]
        print(f"{LABELS[mix.name]} ({dict(sorted(mix.results.items()))}):")
        print(f"  edge    read batch        {ms(s['read'])}")
        print(f"  edge    mark sent         {ms(s['mark'])}")
        print(
            f"  central process_message   {ms(apply)}  "
            f"({BATCH / statistics.median(apply):,.0f} actions/s alone)"
        )
        print(f"  edge    record acks       {ms(s['acks'])}")
        print(
            f"  sum of the steps          {ms(total)}  "
            f"({BATCH / statistics.median(total):,.0f} actions/s without any transport)"
        )
        tenth = max(1, batches // 10)
        print(
            f"  central, first {tenth} batches {ms(apply[:tenth])}, last {tenth} "
            f"{ms(apply[-tenth:])} (does the cost grow with the tables?)"
        )
    base = next((m for m in runs if m.name == "applied"), None)
    if base is None:
        return
    for mix in runs:
        if mix is not base:
            ratio = statistics.median(mix.steps["apply"]) / statistics.median(base.steps["apply"])
            print(f"central per batch, {LABELS[mix.name]} / all applied: {ratio:.2f}x")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="")
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument(
        "--mix",
        default=",".join(MIXES),
        help="which batches to measure, in turn: applied, conflict (every action conflicts), "
        "half (every other action conflicts)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help=f"{SMOKE_BATCHES} batches: checks it still works"
    )
    parser.add_argument(
        "--product-site",
        default=SITE,
        help="site of the product the actions receive; another makes every action a conflict "
        "(the self-check must fail the run)",
    )
    parser.add_argument(
        "--skip-seed",
        action="store_true",
        help="leave out the LPs the conflicts collide with, so they apply instead "
        "(the self-check must fail the run)",
    )
    args = parser.parse_args()
    batches = SMOKE_BATCHES if args.smoke else args.batches
    mixes = [m.strip() for m in args.mix.split(",") if m.strip()]
    check(batches > 0 and mixes, "nothing to measure")
    check(not set(mixes) - set(MIXES), f"--mix takes {', '.join(MIXES)}: got {args.mix}")
    asyncio.run(main(args.db, batches, args.product_site, mixes, args.skip_seed))


if __name__ == "__main__":
    run_main(cli)

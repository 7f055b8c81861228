"""Where a replay's time goes: the cost of one 200-action batch at each step, measured alone.

    python bench/batch_costs.py [--db URL] [--batches 30]
    python bench/batch_costs.py --smoke          # 3 batches: does it still work?

Edge side: reading the batch, marking it sent, recording its acks (SQLite, FULL).
Central side: ActionProcessor.process_message for the batch (verify, dedup, apply, commit).
Compare their sum with the per-batch round trip of bench/replay.py: the rest is MQTT transit
and the hand-offs between processes. Set-up and the final check go through central's API
in-process. The run checks itself before it prints a figure: every ack must say applied, the
edge queue must count every action applied, and central must hold one LP and one ledger row
per action, consistent; otherwise it exits 1. A PostgreSQL database named in --db must be
empty (it is migrated here).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checks import check, expect, passed, run_main  # noqa: E402
from central.api.app import create_app  # noqa: E402
from central.db.migrate import upgrade  # noqa: E402
from central.settings import CentralSettings  # noqa: E402
from edge.queue import ActionQueue  # noqa: E402
from protocol import Ack, AckResult, encode_batch  # noqa: E402

BATCH = 200
SITE, EDGE = "plant-1", "cost-edge"
SMOKE_BATCHES = 3


def ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:6.1f} ms"


async def main(db_url: str, batches: int, product_site: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="ioe-costs-"))
    db_url = db_url or f"sqlite+aiosqlite:///{work / 'central.db'}"
    await upgrade(db_url)
    app = create_app(CentralSettings(db_url=db_url))
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://central")
    try:
        await measure(api, app.state.processor, work, batches, product_site, db_url)
    finally:
        await api.aclose()
        await app.state.engine.dispose()


async def measure(
    api: httpx.AsyncClient,
    processor: Any,
    work: Path,
    batches: int,
    product_site: str,
    db_url: str,
) -> None:
    """Set up through the API, time each step per batch, check the outcome, print."""
    secret = expect(
        await api.post("/api/v1/edges", json={"site": SITE, "edge_id": EDGE}),
        201,
        "provision the edge",
    )["secret"]
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
    total_actions = BATCH * batches
    queue = await ActionQueue.open(work / "queue.db", site=SITE, edge=EDGE, secret=secret)
    try:
        await asyncio.gather(
            *(
                queue.enqueue(
                    type="lp.receive",
                    station="s1",
                    operator="op-1",
                    body={
                        "item": "RAW-1",
                        "qty": "5",
                        "uom": "kg",
                        "location": "RECV",
                        "lp": f"C{i:09d}",
                    },
                )
                for i in range(total_actions)
            )
        )
        read, mark, apply, acks_cost = [], [], [], []
        results: Counter[str] = Counter()
        for n in range(batches):
            t0 = time.perf_counter()
            batch = await queue.pending_batch(BATCH)
            t1 = time.perf_counter()
            await queue.mark_sent([env["id"] for env in batch])
            t2 = time.perf_counter()
            acks = await processor.process_message(
                encode_batch(batch), topic_site=SITE, topic_edge=EDGE, via="mqtt"
            )
            t3 = time.perf_counter()
            await queue.apply_acks([Ack.model_validate(a.wire()) for a in acks])
            t4 = time.perf_counter()
            check(
                len(batch) == len(acks) == BATCH, f"batch {n}: {len(batch)} sent, {len(acks)} acks"
            )
            results.update(str(a.result) for a in acks)
            bad = [a for a in acks if a.result != AckResult.APPLIED]
            check(
                not bad,
                f"batch {n}: every ack should say applied; first otherwise: "
                f"{bad[0].wire() if bad else None}",
            )
            read.append(t1 - t0)
            mark.append(t2 - t1)
            apply.append(t3 - t2)
            acks_cost.append(t4 - t3)
        stats = await queue.stats()
    finally:
        await queue.close()
    check(
        stats.counts["applied"] == total_actions and stats.depth == 0,
        f"the edge queue should count {total_actions} applied, none open: {stats.counts}",
    )
    report = expect(
        await api.get("/api/v1/inventory/check", params={"site": SITE}),
        200,
        "central consistency check",
    )
    check(
        report["ok"] and report["checked"] == {"lps": total_actions, "ledger_rows": total_actions},
        f"central should hold {total_actions} LPs and ledger rows, consistent: "
        f"{report['checked']}, problems {report['problems'][:3]}",
    )
    passed(
        f"{results[str(AckResult.APPLIED)]:,} of {total_actions:,} acks applied; central holds "
        f"{report['checked']['lps']:,} LPs and {report['checked']['ledger_rows']:,} ledger "
        "rows, consistent"
    )
    total = [sum(x) for x in zip(read, mark, apply, acks_cost, strict=True)]
    print(f"database: {db_url.split('://')[0]}, {batches} batches of {BATCH}")
    print(f"  edge    read batch        {ms(read)}")
    print(f"  edge    mark sent         {ms(mark)}")
    print(
        f"  central process_message   {ms(apply)}  "
        f"({BATCH / statistics.median(apply):,.0f} actions/s alone)"
    )
    print(f"  edge    record acks       {ms(acks_cost)}")
    print(
        f"  sum of the steps          {ms(total)}  "
        f"({BATCH / statistics.median(total):,.0f} actions/s without any transport)"
    )
    tenth = max(1, batches // 10)
    print(
        f"  central, first {tenth} batches {ms(apply[:tenth])}, last {tenth} {ms(apply[-tenth:])}"
        " (does the cost grow with the tables?)"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="")
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument(
        "--smoke", action="store_true", help=f"{SMOKE_BATCHES} batches: checks it still works"
    )
    parser.add_argument(
        "--product-site",
        default=SITE,
        help="site of the product the actions receive; another makes every action a conflict "
        "(the self-check must fail the run)",
    )
    args = parser.parse_args()
    batches = SMOKE_BATCHES if args.smoke else args.batches
    check(batches > 0, "nothing to measure")
    asyncio.run(main(args.db, batches, args.product_site))


if __name__ == "__main__":
    run_main(cli)

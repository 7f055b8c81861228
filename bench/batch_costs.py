"""Where a replay's time goes: the cost of one 200-action batch at each step, measured alone.

    python bench/batch_costs.py [--db URL] [--batches 30]

Edge side: reading the batch, marking it sent, recording its acks (SQLite, FULL).
Central side: ActionProcessor.process_message for the batch (verify, dedup, apply, commit).
Compare their sum with the per-batch round trip of bench/replay.py: the rest is MQTT transit
and the hand-offs between processes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from central.actions.processor import ActionProcessor  # noqa: E402
from central.catalog.locations import create_location  # noqa: E402
from central.catalog.products import create_product  # noqa: E402
from central.db.engine import make_engine  # noqa: E402
from central.db.migrate import upgrade  # noqa: E402
from central.edges.registry import provision_edge  # noqa: E402
from central.settings import CentralSettings  # noqa: E402
from edge.queue import ActionQueue  # noqa: E402
from protocol import Ack, AckResult, encode_batch  # noqa: E402

BATCH = 200


def ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:6.1f} ms"


async def main(db_url: str, batches: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="ioe-costs-"))
    db_url = db_url or f"sqlite+aiosqlite:///{work / 'central.db'}"
    await upgrade(db_url)
    engine = make_engine(db_url)
    async with engine.begin() as conn:
        secret = await provision_edge(conn, site="plant-1", edge_id="cost-edge")
        await create_product(conn, code="RAW-1", name="Raw", uom="kg")
        await create_location(conn, site="plant-1", code="RECV", name="Receiving")
    processor = ActionProcessor(engine, CentralSettings(db_url=db_url))
    queue = await ActionQueue.open(
        work / "queue.db", site="plant-1", edge="cost-edge", secret=secret
    )
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
            for i in range(BATCH * batches)
        )
    )
    read, mark, apply, acks_cost = [], [], [], []
    for _ in range(batches):
        t0 = time.perf_counter()
        batch = await queue.pending_batch(BATCH)
        t1 = time.perf_counter()
        await queue.mark_sent([env["id"] for env in batch])
        t2 = time.perf_counter()
        acks = await processor.process_message(
            encode_batch(batch), topic_site="plant-1", topic_edge="cost-edge", via="mqtt"
        )
        t3 = time.perf_counter()
        assert {a.result for a in acks} == {AckResult.APPLIED}, acks[:2]
        await queue.apply_acks([Ack.model_validate(a.wire()) for a in acks])
        t4 = time.perf_counter()
        read.append(t1 - t0)
        mark.append(t2 - t1)
        apply.append(t3 - t2)
        acks_cost.append(t4 - t3)
    await queue.close()
    await engine.dispose()
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="")
    parser.add_argument("--batches", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.db, args.batches))

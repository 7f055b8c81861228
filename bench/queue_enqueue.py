"""Queue enqueue benchmark: one scan at a time vs. many at once (group commit).

    python bench/queue_enqueue.py                 # 2,000 sequential, 20,000 concurrent
    python bench/queue_enqueue.py --sequential 5000 --concurrent 50000 --wave 500
    python bench/queue_enqueue.py --smoke         # 100 and 1,000: does it still work?

Every enqueue returns only after its COMMIT (WAL, synchronous=FULL). One at a time, each
action pays a full fsync; scans that arrive together share one transaction. The run checks
itself before it prints a figure: each queue must hold every action, queued, with gap-free
seqs; one at a time must take one transaction per action, and concurrent callers fewer
transactions than actions; otherwise it exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checks import check, passed, run_main  # noqa: E402
from edge.queue import ActionQueue  # noqa: E402

SECRET = "bench-secret-0123456789abcdef"
SMOKE = {"sequential": 100, "concurrent": 1_000}


def _body(i: int) -> dict[str, str]:
    return {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV", "lp": f"B{i:09d}"}


async def held(queue: ActionQueue, count: int, what: str) -> None:
    """The queue holds exactly ``count`` actions, all queued, seqs 1..count."""
    stats = await queue.stats()
    check(
        stats.counts["queued"] == stats.depth == count and stats.next_seq == count + 1,
        f"{what}: the queue should hold {count} queued actions, seqs 1-{count}: {stats}",
    )


async def sequential(path: Path, count: int) -> tuple[float, int]:
    """Enqueue ``count`` actions one after another; returns (actions/s, transactions)."""
    async with await ActionQueue.open(path, site="bench", edge="seq", secret=SECRET) as queue:
        started = time.perf_counter()
        for i in range(count):
            await queue.enqueue(type="lp.receive", station="s1", operator="op-1", body=_body(i))
        rate = count / (time.perf_counter() - started)
        await held(queue, count, "one at a time")
        check(
            queue.commits == count,
            f"one at a time: {queue.commits} transactions for {count} actions, expected one each",
        )
        return rate, queue.commits


async def concurrent(path: Path, count: int, wave: int) -> tuple[float, int]:
    """Enqueue ``count`` actions in waves of ``wave`` concurrent callers."""
    async with await ActionQueue.open(path, site="bench", edge="conc", secret=SECRET) as queue:
        started = time.perf_counter()
        for offset in range(0, count, wave):
            await asyncio.gather(
                *(
                    queue.enqueue(type="lp.receive", station="s1", operator="op-1", body=_body(i))
                    for i in range(offset, min(count, offset + wave))
                )
            )
        rate = count / (time.perf_counter() - started)
        await held(queue, count, "concurrent")
        check(
            wave == 1 or queue.commits < count,
            f"concurrent: {queue.commits} transactions for {count} actions, no group commit",
        )
        return rate, queue.commits


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=2000)
    parser.add_argument("--concurrent", type=int, default=20000)
    parser.add_argument("--wave", type=int, default=200, help="callers enqueuing at once")
    parser.add_argument("--dir", type=Path, default=None, help="where the queue files go")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"{SMOKE['sequential']} and {SMOKE['concurrent']:,} actions: checks it still works",
    )
    args = parser.parse_args()
    if args.smoke:
        args.sequential, args.concurrent = SMOKE["sequential"], SMOKE["concurrent"]
    check(min(args.sequential, args.concurrent, args.wave) > 0, "nothing to measure")
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        seq_rate, seq_commits = await sequential(Path(work) / "seq.db", args.sequential)
        rate, commits = await concurrent(Path(work) / "conc.db", args.concurrent, args.wave)
        passed(
            f"{args.sequential:,} and {args.concurrent:,} actions queued, seqs gap-free; "
            f"{seq_commits:,} and {commits:,} transactions"
        )
        print(
            f"one at a time : {seq_rate:>9,.0f} actions/s  ({args.sequential:,} actions, "
            f"{seq_commits:,} transactions)"
        )
        print(
            f"concurrent    : {rate:>9,.0f} actions/s  ({args.concurrent:,} actions in waves "
            f"of {args.wave}, {commits:,} transactions)"
        )


if __name__ == "__main__":
    run_main(lambda: asyncio.run(main()))

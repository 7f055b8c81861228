"""Queue enqueue benchmark: one scan at a time vs. many at once (group commit).

    python bench/queue_enqueue.py                 # 2,000 sequential, 20,000 concurrent
    python bench/queue_enqueue.py --sequential 5000 --concurrent 50000 --wave 500

Every enqueue returns only after its COMMIT (WAL, synchronous=FULL). One at a time, each
action pays a full fsync; scans that arrive together share one transaction.
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

from edge.queue import ActionQueue  # noqa: E402

SECRET = "bench-secret-0123456789abcdef"


def _body(i: int) -> dict[str, str]:
    return {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV", "lp": f"B{i:09d}"}


async def sequential(path: Path, count: int) -> tuple[float, int]:
    """Enqueue ``count`` actions one after another; returns (actions/s, transactions)."""
    async with await ActionQueue.open(path, site="bench", edge="seq", secret=SECRET) as queue:
        started = time.perf_counter()
        for i in range(count):
            await queue.enqueue(type="lp.receive", station="s1", operator="op-1", body=_body(i))
        return count / (time.perf_counter() - started), queue.commits


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
        return count / (time.perf_counter() - started), queue.commits


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=2000)
    parser.add_argument("--concurrent", type=int, default=20000)
    parser.add_argument("--wave", type=int, default=200, help="callers enqueuing at once")
    parser.add_argument("--dir", type=Path, default=None, help="where the queue files go")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        rate, commits = await sequential(Path(work) / "seq.db", args.sequential)
        print(
            f"one at a time : {rate:>9,.0f} actions/s  ({args.sequential:,} actions, "
            f"{commits:,} transactions)"
        )
        rate, commits = await concurrent(Path(work) / "conc.db", args.concurrent, args.wave)
        print(
            f"concurrent    : {rate:>9,.0f} actions/s  ({args.concurrent:,} actions in waves "
            f"of {args.wave}, {commits:,} transactions)"
        )


if __name__ == "__main__":
    asyncio.run(main())

"""Edge reference cache benchmark: a snapshot swapped in, deltas applied, LP lookups answered.

    python bench/ref_cache.py                  # 100,000 LPs, 5,000 deltas, 20,000 queued
    python bench/ref_cache.py --lps 500000 --backlog 100000
    python bench/ref_cache.py --smoke          # 2,000 LPs, 500 deltas, 1,000 queued

Everything goes through the edge's own code as `ioe edge run` has it, short of the broker:
every message is signed with a central key and verified by the follower (the cost of the
signature check is in the figures); the snapshot answers the request the follower itself
made; lookups read the cache and the edge's real queue, where a backlog of unacked actions
waits (an edge offline for a while), and apply the overlay. The run checks itself before it
prints a figure: the snapshot swapped in with every LP, every delta applied in order, every
lookup found its LP, and the LP moved offline shows its new place with its pending actions;
otherwise it exits 1. ``--forge`` signs the deltas with another key: none may apply.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checks import check, passed, run_main  # noqa: E402
from edge.lookups import RefLookups  # noqa: E402
from edge.queue import ActionQueue  # noqa: E402
from edge.ref_follow import RefFollower  # noqa: E402
from edge.ref_store import RefStore  # noqa: E402
from protocol import central_public_key  # noqa: E402
from protocol.ref import (  # noqa: E402
    REF_KINDS,
    RefDelta,
    RefItem,
    RefSnapshotPage,
    read_request,
    sign_ref,
)
from protocol.topics import ref_snapshot_topic, ref_topic  # noqa: E402

SITE, EDGE, SECRET = "bench", "edge-1", "bench-secret-0123456789abcdef"
CENTRAL_SEED = bytes(range(32))
FORGER_SEED = bytes([5]) * 32
PAGE = 500
SMOKE = {"lps": 2_000, "deltas": 500, "backlog": 1_000, "lookups": 200}


def summary(number: str, location: str = "A-01") -> dict[str, object]:
    """An LP summary as central sends it."""
    return {
        "number": number,
        "product": "P-1",
        "lot": f"L{int(number[2:]) % 97}",
        "expiry": None,
        "qty": "10",
        "uom": "EA",
        "location": location,
        "status": "available",
        "parent": None,
    }


def lp_number(i: int) -> str:
    return f"LP{i:09d}"


async def snapshot(follower: RefFollower, asked: asyncio.Queue[bytes], lps: int) -> float:
    """Answer the follower's first request with ``lps`` LPs; seconds until swapped in."""
    request = read_request(await asyncio.wait_for(asked.get(), 10), SECRET)
    kinds = list(request.kinds) or list(REF_KINDS)
    as_of = {kind: (lps if kind == "lp" else 0) for kind in kinds}
    chunks: list[tuple[str, list[RefItem]]] = [(k, []) for k in kinds if k != "lp"]
    for start in range(0, lps, PAGE):
        chunks.append(
            (
                "lp",
                [
                    RefItem(op="upsert", key=lp_number(i), data=summary(lp_number(i)))
                    for i in range(start, min(lps, start + PAGE))
                ],
            )
        )
    payloads = [
        sign_ref(
            RefSnapshotPage(
                request=request.id,
                site=SITE,
                edge=EDGE,
                as_of=as_of,
                page=n,
                pages=len(chunks),
                kind=kind,  # type: ignore[arg-type]
                items=items,
            ),
            CENTRAL_SEED,
        )
        for n, (kind, items) in enumerate(chunks, start=1)
    ]
    topic = ref_snapshot_topic(SITE, EDGE)
    started = time.perf_counter()
    for payload in payloads:
        await follower.on_message(topic, payload)
    took = time.perf_counter() - started
    check(follower.snapshots == 1, f"the snapshot was not swapped in ({follower.status()})")
    return took


async def deltas(follower: RefFollower, lps: int, count: int, seed: bytes) -> float:
    """``count`` deltas of one moved LP each, chained after the snapshot; seconds taken."""
    payloads = []
    for n in range(count):
        number = lp_number(n % lps)
        delta = RefDelta(
            site=SITE,
            kind="lp",
            id=lps + n + 1,
            prev=lps + n,
            items=[RefItem(op="upsert", key=number, data=summary(number, f"B-{n}"))],
            at=datetime.now(UTC).isoformat(),
        )
        payloads.append(sign_ref(delta, seed))
    topic = ref_topic(SITE, "lp")
    started = time.perf_counter()
    for payload in payloads:
        await follower.on_message(topic, payload)
    took = time.perf_counter() - started
    check(
        follower.applied == count and follower.refused == 0,
        f"{follower.applied} of {count} deltas applied, {follower.refused} refused",
    )
    return took


async def timed_lookups(lookups: RefLookups, lps: int, count: int) -> list[float]:
    """Milliseconds per LP lookup of ``count`` random LPs, each checked."""
    rng = random.Random(7)
    times = []
    for _ in range(count):
        number = lp_number(rng.randrange(lps))
        started = time.perf_counter()
        answer = await lookups.lp(number)
        times.append((time.perf_counter() - started) * 1000)
        check(answer.data["number"] == number, f"lookup of {number} answered {answer.data}")
    return times


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lps", type=int, default=100_000)
    parser.add_argument("--deltas", type=int, default=5_000)
    parser.add_argument("--backlog", type=int, default=20_000, help="unacked actions queued")
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--dir", type=Path, default=None, help="where the files go")
    parser.add_argument("--smoke", action="store_true", help="a small size: does it still work?")
    parser.add_argument("--forge", action="store_true", help="sign the deltas with another key")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # a refused delta logs a warning: --forge has many
    if args.smoke:
        for name, value in SMOKE.items():
            setattr(args, name, value)
    check(min(args.lps, args.deltas, args.lookups) > 0, "nothing to measure")
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        store = await RefStore.open(Path(work) / "ref.db")
        queue = await ActionQueue.open(Path(work) / "queue.db", site=SITE, edge=EDGE, secret=SECRET)
        follower = RefFollower(
            store,
            site=SITE,
            edge=EDGE,
            secret=SECRET,
            central_key=central_public_key(CENTRAL_SEED),
            snapshot_timeout=600,
            max_items=max(200_000, args.lps),
        )
        link = {"broker_connected": True, "central_online": True}
        lookups = RefLookups(store, follower, queue, lambda: link)
        asked: asyncio.Queue[bytes] = asyncio.Queue()

        async def publish(topic: str, payload: bytes) -> None:
            asked.put_nowait(payload)

        following = asyncio.create_task(follower.run(publish))
        try:
            swap = await snapshot(follower, asked, args.lps)
            check(
                (await store.counts())["lp"] == args.lps,
                f"the cache holds {(await store.counts())['lp']} LPs, not {args.lps}",
            )
            seed = FORGER_SEED if args.forge else CENTRAL_SEED
            applied = await deltas(follower, args.lps, args.deltas, seed)
            last = (args.deltas - 1) % args.lps
            answer = await lookups.lp(lp_number(last))
            check(
                answer.data["location"] == f"B-{args.deltas - 1}" and not answer.stale,
                f"after the deltas {lp_number(last)} is {answer.data} (stale {answer.stale})",
            )
            quiet = await timed_lookups(lookups, args.lps, args.lookups)
            # A backlog of unacked actions on other LPs, then two on the LP looked up.
            for i in range(args.backlog):
                await queue.enqueue(
                    type="lp.move",
                    station="s1",
                    operator="op-1",
                    body={"lp": f"OTHER{i:09d}", "to_location": "X-1"},
                )
            target = lp_number(0)
            mine = [
                await queue.enqueue(
                    type="lp.move",
                    station="s1",
                    operator="op-1",
                    body={"lp": target, "to_location": "DOCK-9"},
                ),
                await queue.enqueue(
                    type="lp.consume",
                    station="s1",
                    operator="op-1",
                    body={"lp": target, "work_order": "WO-1", "qty": "4"},
                ),
            ]
            busy = await timed_lookups(lookups, args.lps, args.lookups)
            overlaid = await lookups.lp(target)
            check(
                overlaid.data["location"] == "DOCK-9"
                and overlaid.data["qty"] == "6"
                and overlaid.pending_actions == [a.id for a in mine],
                f"the LP moved offline answers {overlaid.data}, {overlaid.pending_actions}",
            )
            started = time.perf_counter()
            for _ in range(args.lookups):
                await lookups.lp(target)
            overlay_ms = (time.perf_counter() - started) * 1000 / args.lookups
        finally:
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
            await queue.close()
            await store.close()
    passed(
        f"snapshot of {args.lps:,} LPs swapped in, {args.deltas:,} deltas applied in order, "
        f"{2 * args.lookups:,} lookups found their LP, the LP moved offline shows its place and "
        f"its 2 pending actions behind a backlog of {args.backlog:,}"
    )
    pages = -(-args.lps // PAGE) + len(REF_KINDS) - 1
    print(
        f"snapshot      : {args.lps:,} LPs in {pages:,} signed pages, swapped in in {swap:.2f}s "
        f"= {args.lps / swap:,.0f} LPs/s"
    )
    print(
        f"deltas        : {args.deltas:,} signed deltas in {applied:.2f}s "
        f"= {args.deltas / applied:,.0f} deltas/s"
    )
    print(f"lookup, no backlog      : {percentiles(quiet)}")
    print(f"lookup, {args.backlog:,} queued : {percentiles(busy)}")
    print(f"lookup with overlay     : {overlay_ms:.2f} ms per lookup (2 pending actions)")


if __name__ == "__main__":
    run_main(lambda: asyncio.run(main()))

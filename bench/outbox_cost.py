"""The outbox's cost on the replay drain: the same replay with events and without, side by side.

    python bench/outbox_cost.py                  # SQLite, 5 rounds of 20 batches per mode
    python bench/outbox_cost.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/ioe_bench_outbox
    python bench/outbox_cost.py --smoke          # 2 rounds of 3 batches: does it still work?

Two central processors share one database: one on an engine that writes events (the default),
one on an engine made with ``outbox=False`` (``IOE_OUTBOX=0``), each with an edge of its own.
Each replays a backlog of ``lp.receive`` batches of 200 (signed envelopes, as an edge back
from an outage sends them) through ``ActionProcessor.process_message``: verify, dedup, apply
with ledger rows, dedup records and, with events, one ``lp.created`` per receipt, commit.
With events, central's relay runs beside the processor as in ``ioe central run`` (woken by
each commit, it numbers the events in transactions of its own), and a turn with events ends
only when every event of it is numbered: all the relay's work is counted in that mode's time.
Without events there is no relay, as in a central run with the outbox off. The modes take
turns of a few batches (the order swapped each round) on the same growing tables, so a change
in the machine's load falls on both alike; the figure is the median, over the pairs of turns
run side by side, of the time with events over the time without. ``--inline`` numbers after
each batch in line instead of the relay (no overlap at all: an upper bound).

Central's apply is where the outbox adds work; an end-to-end drain (bench/replay.py) adds the
edge's and the broker's time, the same in both modes, so its ratio is closer to 1 than this.

The run checks itself before it prints a figure: every ack applied; each mode's LPs and ledger
rows all there and consistent; with events, exactly one ``lp.created`` per receipt, caused by
its action and numbered by the relay; without, not one event of its actions. Otherwise it
exits 1. A PostgreSQL database named in --db must exist and be empty (it is migrated here).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.checks import check, passed, run_main  # noqa: E402
from central.access.callers import OPEN_CALLER  # noqa: E402
from central.actions.processor import ActionProcessor  # noqa: E402
from central.catalog.locations import create_location  # noqa: E402
from central.catalog.products import create_product  # noqa: E402
from central.db.engine import make_engine  # noqa: E402
from central.db.migrate import upgrade  # noqa: E402
from central.db.tables import license_plates, stock_moves  # noqa: E402
from central.edges.registry import provision_edge  # noqa: E402
from central.event_relay import build_relay  # noqa: E402
from central.events.reading import stored_events  # noqa: E402
from central.events.sequencer import sequence_all  # noqa: E402
from central.inventory.consistency import check_database  # noqa: E402
from central.keys import write_key_file  # noqa: E402
from central.settings import CentralSettings  # noqa: E402
from protocol import AckResult, build_envelope, encode_batch  # noqa: E402

BATCH = 200
SITE = "plant-1"
MODES = ("events", "no events")
PREFIX = {"events": "E", "no events": "N"}
EDGES = {"events": "edge-events", "no events": "edge-quiet"}


class Mode:
    """One side of the comparison: its processor, its edge's backlog, its drain times."""

    def __init__(self, name: str, processor: ActionProcessor, secret: str) -> None:
        self.name = name
        self.processor = processor
        self.secret = secret
        self.seq = 0
        self.sent = 0
        self.times: list[float] = []  # seconds per turn
        self.inline = False  # number the events in line after each batch, not by the relay

    def batch(self) -> list[dict[str, Any]]:
        """The next 200 receipts of this mode's backlog, signed as its edge signs them."""
        envs = []
        for _ in range(BATCH):
            self.seq += 1
            envs.append(
                build_envelope(
                    type="lp.receive",
                    site=SITE,
                    edge=EDGES[self.name],
                    station="st-1",
                    operator="op-1",
                    seq=self.seq,
                    body={
                        "item": "RAW-1",
                        "qty": "5",
                        "uom": "kg",
                        "location": "RECV",
                        "lp": f"{PREFIX[self.name]}{self.seq:09d}",
                    },
                    secret=self.secret,
                )
            )
        return envs

    async def turn(self, payloads: list[bytes]) -> None:
        """Apply a turn's batches one after another as the ingest worker does, until (with
        events) every event of them is numbered; time it."""
        started = time.perf_counter()
        for payload in payloads:
            acks = await self.processor.process_message(
                payload, topic_site=SITE, topic_edge=EDGES[self.name], via="mqtt"
            )
            bad = [a for a in acks if a.result != AckResult.APPLIED]
            check(not bad, f"{self.name}: {len(bad)} actions not applied, first {bad[:1]}")
            self.sent += len(acks)
            if self.name == "events" and self.inline:
                await sequence_all(self.processor.engine)
        if self.name == "events":  # what the relay has not numbered yet
            await sequence_all(self.processor.engine)
        self.times.append(time.perf_counter() - started)


async def setup(db_url: str, work: Path, product_site: str) -> tuple[CentralSettings, Any, Any]:
    """Migrate, seed the product and location, and make the two engines."""
    await upgrade(db_url)
    key = work / "master.key"
    write_key_file(key)
    settings = CentralSettings(db_url=db_url, master_key_file=key)
    with_events = make_engine(db_url)
    without = make_engine(db_url, outbox=False)
    async with with_events.begin() as conn:
        await create_product(
            conn, site=product_site, code="RAW-1", name="Raw", uom="kg", caller=OPEN_CALLER
        )
        await create_location(
            conn, site=SITE, code="RECV", name="Receiving", kind="receiving", caller=OPEN_CALLER
        )
    return settings, with_events, without


async def provision(engine: Any, processor: ActionProcessor, edge: str) -> str:
    """Register an edge; its secret."""
    async with engine.begin() as conn:
        return await provision_edge(conn, site=SITE, edge_id=edge, box=processor.edge_box)


async def verify(db_url: str, engine: Any, modes: dict[str, Mode]) -> dict[str, int]:
    """What the figures claim: every receipt's LP and ledger row, consistent; one numbered
    lp.created per receipt with events, none without."""
    found: dict[str, int] = {}
    async with engine.connect() as conn:
        stored = await stored_events(conn)
        for mode in modes.values():
            prefix = f"{PREFIX[mode.name]}%"
            lps = await conn.scalar(
                select(func.count())
                .select_from(license_plates)
                .where(license_plates.c.number.like(prefix))
            )
            rows = await conn.scalar(
                select(func.count())
                .select_from(stock_moves)
                .join(license_plates, license_plates.c.id == stock_moves.c.lp_id)
                .where(license_plates.c.number.like(prefix))
            )
            check(
                lps == rows == mode.sent,
                f"{mode.name}: {mode.sent} receipts applied but {lps} LPs, {rows} ledger rows",
            )
            mine = [(i, e) for i, e in stored if e["subject"].startswith(prefix[:-1])]
            found[mode.name] = len(mine)
            numbered = sum(1 for i, e in mine if e["type"] == "lp.created" and i is not None)
            want = mode.sent if mode.name == "events" else 0
            check(
                found[mode.name] == want and numbered == want,
                f"{mode.name}: {found[mode.name]} events ({numbered} numbered) for {mode.sent} "
                f"receipts; expected {want}",
            )
        caused = sum(1 for _, e in stored if e["cause"] is None)
        check(caused == 0, f"{caused} events without their action as cause")
    report = await check_database(db_url, sites=[SITE])
    check(report.ok, f"consistency check: {report.problems[:3]}")
    return found


async def measure(
    db_url: str, rounds: int, batches: int, turn: int, inline: bool, product_site: str
) -> None:
    work = Path(tempfile.mkdtemp(prefix="ioe-outbox-"))
    db_url = db_url or f"sqlite+aiosqlite:///{work / 'central.db'}"
    settings, with_events, without = await setup(db_url, work, product_site)
    modes: dict[str, Mode] = {}
    for name, engine in (("events", with_events), ("no events", without)):
        processor = ActionProcessor(engine, settings)
        modes[name] = Mode(name, processor, await provision(with_events, processor, EDGES[name]))
    modes["events"].inline = inline
    relay = None
    if not inline:
        relay = asyncio.create_task(build_relay(with_events, settings).run(), name="relay")
    try:
        # one untimed turn each first: caches, pools and the first pages of the tables warm
        for mode in modes.values():
            await mode.turn([encode_batch(mode.batch())])
            mode.times.clear()
        for r in range(rounds):
            order = MODES if r % 2 == 0 else MODES[::-1]
            for _ in range(batches // turn):
                for name in order:
                    mode = modes[name]
                    await mode.turn([encode_batch(mode.batch()) for _ in range(turn)])
    finally:
        if relay is not None:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
    found = await verify(db_url, with_events, modes)
    await with_events.dispose()
    await without.dispose()
    on, off = modes["events"], modes["no events"]
    passed(
        f"{on.sent:,} + {off.sent:,} receipts applied, LPs and ledger rows consistent; "
        f"{found['events']:,} lp.created events numbered with events, {found['no events']} "
        "without"
    )
    print(f"central db: {db_url.split('://')[0]}")
    numbering = "in line after each batch" if inline else "by the relay beside the processor"
    print(
        f"{rounds} rounds x {batches // turn} turns of {turn} batches of {BATCH} per mode; "
        f"events numbered {numbering}"
    )
    for mode in (on, off):
        per_batch = statistics.median(mode.times) / turn
        print(
            f"{mode.name:>9}: median {per_batch * 1000:.1f} ms a batch = {BATCH / per_batch:,.0f} "
            f"actions/s ({len(mode.times) * turn * BATCH / sum(mode.times):,.0f} actions/s "
            "over all)"
        )
    ratio = statistics.median(on.times) / statistics.median(off.times)
    # Each events batch beside the no-events batch next to it: the load the two met was alike.
    paired = statistics.median(a / b for a, b in zip(on.times, off.times, strict=True))
    print(
        f"cost of the outbox: a batch takes {paired:.3f}x as long with events, pair by pair "
        f"({100 * (paired - 1):+.1f} %; {ratio:.3f}x median to median): the drain rate with "
        f"events is {100 / paired:.1f} % of the rate without"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="central database URL (default: SQLite file)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=20, help="batches per mode per round")
    parser.add_argument("--turn", type=int, default=5, help="batches per turn")
    parser.add_argument("--inline", action="store_true", help="number in line, no relay")
    parser.add_argument("--smoke", action="store_true", help="2 rounds of 3 batches")
    parser.add_argument(
        "--product-site",
        default=SITE,
        help="site of the product the receipts name; another makes every one a conflict "
        "(the self-check must fail the run)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.batches, args.turn = 2, 3, 1
    check(0 < args.turn <= args.batches and args.rounds > 0, "nothing to measure")
    asyncio.run(
        measure(args.db, args.rounds, args.batches, args.turn, args.inline, args.product_site)
    )


if __name__ == "__main__":
    run_main(main)

"""Order sync benchmark: a first sync and a no-change re-sync of 500 orders with 2 POs each.

    python bench/order_sync.py [--db URL] [--orders 500] [--page-size 100] [--repeat 3]
    python bench/order_sync.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/ioe_bench_sync
    python bench/order_sync.py --smoke     # 50 orders, one repeat, a temporary SQLite file

A real HTTP server (harness/order_source.py, in a thread) serves the orders in pages as an
order system does; central's pull (central/order_sync/pull.py: httpx, pages, the upsert)
applies them to a migrated database, as `ioe central order-sync --full` does. Each repeat
starts on an empty database: the first sync is timed, then a re-sync of the same pages. The
run checks itself before it prints a figure: the first sync created every order and PO and
reported no error, the re-sync found every order unchanged, and afterwards every order and
PO exists exactly once and no order or PO row was written by the re-sync (updated_at and
synced_at as the first sync left them). Goals on the reference machine: first sync under
2 s, re-sync under 0.5 s (printed as met or missed; the figures are the claim).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bench.checks import check, passed, run_main  # noqa: E402
from central.access.callers import OPEN_CALLER  # noqa: E402
from central.catalog.products import create_product  # noqa: E402
from central.db.engine import make_engine  # noqa: E402
from central.db.migrate import upgrade  # noqa: E402
from central.db.tables import purchase_orders, sales_orders  # noqa: E402
from central.order_sync.pull import Pull, PullResult, pull_orders  # noqa: E402
from harness.order_source import OrderSource, serve_orders  # noqa: E402

SITE = "plant-1"
SMOKE_ORDERS = 50
GOALS = {"first sync": 2.0, "no-change re-sync": 0.5}  # seconds, for 500 orders
TABLES = ("sales_orders", "sales_order_lines", "purchase_orders", "purchase_order_lines")


def make_orders(count: int) -> list[dict[str, Any]]:
    """``count`` approved orders, each with two lines and two POs of one line each."""
    return [
        {
            "number": f"ERP-{n:06d}",
            "customer": f"CUST-{n % 50:03d}",
            "customer_name": f"Customer {n % 50}",
            "customer_ref": f"REF-{n}",
            "due_date": "2026-12-15",
            "route": f"R{n % 5}",
            "approval_status": "approved",
            "lines": [
                {"product": "FG-1", "qty": "12", "unit_price": "4.5"},
                {"product": "FG-2", "qty": "3", "unit_price": "19.9"},
            ],
            "purchase_orders": [
                {
                    "number": f"PO-{n:06d}-{k}",
                    "supplier": "Mill & Co",
                    "lines": [{"product": "RAW-1", "qty": "100"}],
                }
                for k in ("A", "B")
            ],
        }
        for n in range(1, count + 1)
    ]


async def fresh_database(url: str, product_site: str) -> AsyncEngine:
    """A migrated database with the products the orders name (at ``product_site``), which
    must hold no orders yet (the checks count rows)."""
    await upgrade(url)
    engine = make_engine(url)
    async with engine.begin() as conn:
        for table in reversed(TABLES):
            check(
                not await conn.scalar(text(f"SELECT count(*) FROM {table}")),
                f"{url} already holds {table}: give an empty database",
            )
        for code, uom in (("FG-1", "ea"), ("FG-2", "ea"), ("RAW-1", "kg")):
            await create_product(
                conn, site=product_site, code=code, name=code, uom=uom, caller=OPEN_CALLER
            )
    return engine


async def snapshot(engine: AsyncEngine) -> dict[str, Any]:
    """Row counts, distinct keys and the latest write times of orders and POs."""
    async with engine.connect() as conn:

        async def one(query: Any) -> Any:
            return (await conn.execute(query)).scalar_one()

        return {
            "orders": await one(select(func.count()).select_from(sales_orders)),
            "external": await one(select(func.count(sales_orders.c.external_number.distinct()))),
            "pos": await one(select(func.count()).select_from(purchase_orders)),
            "po_numbers": await one(select(func.count(purchase_orders.c.number.distinct()))),
            "lines": await one(text("SELECT count(*) FROM sales_order_lines")),
            "po_lines": await one(text("SELECT count(*) FROM purchase_order_lines")),
            "written": (
                await one(select(func.max(sales_orders.c.updated_at))),
                await one(select(func.max(sales_orders.c.synced_at))),
                await one(select(func.max(purchase_orders.c.updated_at))),
            ),
            "linked": await one(
                select(func.count())
                .select_from(purchase_orders)
                .where(purchase_orders.c.order_id.is_not(None))
            ),
        }


async def timed(engine: AsyncEngine, pull: Pull) -> tuple[float, PullResult]:
    """One full pull, timed end to end (HTTP pages and database writes)."""
    start = time.perf_counter()
    result = await pull_orders(engine, pull, full=True)
    return time.perf_counter() - start, result


async def one_round(url: str, db_url: str, count: int, product_site: str) -> tuple[float, float]:
    """A first sync and a re-sync on an empty database, checked; their times."""
    engine = await fresh_database(db_url, product_site)
    try:
        pull = Pull(url=url, site=SITE, retries=0)
        first_s, first = await timed(engine, pull)
        check(first.ok, f"the first sync failed: {first.error}")
        report = first.report
        check(
            report.errors == [],
            f"the first sync reported {len(report.errors)} error(s), e.g. {report.errors[:2]}",
        )
        check(
            (report.created, report.pos_created) == (count, 2 * count),
            f"the first sync should create {count} orders and {2 * count} POs: {report.summary()}",
        )
        after_first = await snapshot(engine)
        again_s, again = await timed(engine, pull)
        check(again.ok, f"the re-sync failed: {again.error}")
        check(
            (again.report.unchanged, again.report.created, again.report.updated) == (count, 0, 0)
            and (again.report.pos_created, again.report.pos_updated) == (0, 0),
            f"the re-sync should find all {count} orders unchanged: {again.report.summary()}",
        )
        after = await snapshot(engine)
        expected = {
            "orders": count,
            "external": count,
            "pos": 2 * count,
            "po_numbers": 2 * count,
            "lines": 2 * count,
            "po_lines": 2 * count,
            "linked": 2 * count,
        }
        for key, value in expected.items():
            check(after[key] == value, f"{key}: {after[key]} after both syncs, expected {value}")
        check(
            after["written"] == after_first["written"],
            f"the re-sync wrote rows: latest writes {after_first['written']} -> {after['written']}",
        )
        return first_s, again_s
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    count = SMOKE_ORDERS if args.smoke else args.orders
    repeat = 1 if args.smoke else args.repeat
    source = OrderSource(page_size=args.page_size)
    source.orders = make_orders(count)
    firsts, agains = [], []
    with serve_orders(source) as url, tempfile.TemporaryDirectory() as tmp:
        for n in range(repeat):
            db = args.db or f"sqlite+aiosqlite:///{Path(tmp) / f'central-{n}.db'}"
            if args.db and n:
                break  # a given database is measured once: it is no longer empty
            first_s, again_s = await one_round(url, db, count, args.product_site)
            firsts.append(first_s)
            agains.append(again_s)
    pages = -(-count // args.page_size)
    passed(
        f"{count:,} orders and {2 * count:,} POs created once each by the first sync, all "
        f"unchanged and nothing rewritten by the re-sync, {len(firsts)} round(s)"
    )
    backend = (args.db or "sqlite+aiosqlite").split(":", 1)[0]
    print(
        f"order sync of {count:,} orders x 2 POs in {pages} pages of {args.page_size} "
        f"over HTTP, {backend}"
    )
    for name, times in (("first sync", firsts), ("no-change re-sync", agains)):
        best, median = min(times), statistics.median(times)
        goal = GOALS[name]
        verdict = (
            "" if count != 500 else f"  (goal {goal} s: {'met' if median < goal else 'MISSED'})"
        )
        print(f"  {name:<18} median {median:.3f} s, best {best:.3f} s{verdict}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="central database URL (default: SQLite files)")
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="rounds, each on a new database")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_ORDERS} orders, one round")
    parser.add_argument(
        "--product-site",
        default=SITE,
        help="site of the products the orders name; another makes every order an error "
        "(the self-check must fail the run)",
    )
    args = parser.parse_args()
    check(args.orders > 0 and args.page_size > 0 and args.repeat > 0, "nothing to measure")
    asyncio.run(main(args))


if __name__ == "__main__":
    run_main(cli)

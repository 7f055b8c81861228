"""`ioe central order-sync`: one pull from a real HTTP order source into central's database;
exit 0 with the report, 1 when the source fails (the reason on stderr), 2 without a URL."""

import asyncio
import os
from asyncio.subprocess import PIPE

from central.access.callers import OPEN_CALLER
from central.catalog.products import create_product
from central.db.engine import make_engine
from central.sites.settings import put_settings
from harness import ioe_command
from harness.order_source import OrderSource, serve_orders


async def ioe(*args: str) -> tuple[int, str, str]:
    """Run ``ioe`` with ``args`` (two retries, short waits): exit status, stdout, stderr."""
    env = os.environ | {"IOE_ORDER_SYNC_RETRIES": "2", "IOE_ORDER_SYNC_BACKOFF": "0.01"}
    proc = await asyncio.create_subprocess_exec(
        *ioe_command(*args), stdout=PIPE, stderr=PIPE, env=env
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def with_product(url: str) -> None:
    """FG-1 at plant-1, what the source's orders name."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await create_product(
                conn, site="plant-1", code="FG-1", name="FG", uom="ea", caller=OPEN_CALLER
            )
    finally:
        await engine.dispose()


def orders(count: int) -> list[dict[str, object]]:
    """Approved orders of FG-1, one PO each; the last one in a status nobody knows."""
    made: list[dict[str, object]] = [
        {
            "number": f"EXT-{n}",
            "customer": "ACME",
            "approval_status": "approved" if n < count else "on_credit_hold",
            "lines": [{"product": "FG-1", "qty": "2"}],
            "purchase_orders": [{"number": f"PO-{n}"}],
        }
        for n in range(1, count + 1)
    ]
    return made


async def test_a_pull_prints_its_report_and_a_failing_source_exits_1(
    migrated_database_url: str,
) -> None:
    await with_product(migrated_database_url)
    source = OrderSource(page_size=2)
    source.orders = orders(5)
    with serve_orders(source) as url:
        args = ("central", "order-sync", "--url", url, "--site", "plant-1")
        code, out, err = await ioe(*args, "--db", migrated_database_url)
        assert code == 0, err
        assert f"order sync from {url} for plant-1 (everything): 3 page(s)" in out
        assert "5 created, 0 updated, 0 unchanged" in out
        assert "to investigate: number=EXT-5 approval_status=on_credit_hold" in out
        assert [r.get("cursor") for r in source.requests] == [None, "2", "4"]

        code, out, _ = await ioe(*args, "--db", migrated_database_url, "--full")
        assert code == 0 and "0 created, 0 updated, 5 unchanged" in out

        source.fail_next = 100
        code, out, err = await ioe(*args, "--db", migrated_database_url)
    assert code == 1
    assert "(changes since 20" in out
    assert f"FAILED: {url} failed 3 time(s), last: HTTP 503" in err


async def test_without_a_url_it_says_what_is_missing(migrated_database_url: str) -> None:
    code, _, err = await ioe("central", "order-sync", "--db", migrated_database_url)
    assert code == 2
    assert "--url and --site" in err


async def test_a_pull_lists_the_new_orders_auto_release_left_open(
    migrated_database_url: str,
) -> None:
    await with_product(migrated_database_url)
    engine = make_engine(migrated_database_url)
    try:
        async with engine.begin() as conn:  # auto-release on, but no stock to release
            await put_settings(
                conn, caller=OPEN_CALLER, site="plant-1", auto_release=True, auto_release_wave="day"
            )
    finally:
        await engine.dispose()
    source = OrderSource()
    source.orders = orders(2)[:1]
    with serve_orders(source) as url:
        code, out, err = await ioe(
            "central",
            "order-sync",
            "--url",
            url,
            "--site",
            "plant-1",
            "--db",
            migrated_database_url,
        )
    assert code == 0, err
    assert "auto-release: 0 released, 1 left open" in out
    assert "left open: number=EXT-1 order=SO-000001 code=NO_STAGING_LOCATION" in out

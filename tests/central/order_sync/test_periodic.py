"""The periodic pull in central's lifespan: off unless configured; a failing source is
logged and never stops central; the next interval recovers."""

import asyncio
import logging

import httpx
import pytest
from pydantic import ValidationError

from central.api.app import create_app
from central.order_sync.pull import Pull, pull_orders
from central.settings import CentralSettings
from harness.order_source import OrderSource, serve_orders
from tests.central.conftest import SITE, Central
from tests.central.order_sync.pages import order


def sync_tasks() -> list[asyncio.Task[object]]:
    """The running periodic pulls."""
    return [t for t in asyncio.all_tasks() if t.get_name() == "order-sync" and not t.done()]


async def succeeded(central: Central) -> int:
    """Pulls recorded as succeeded."""
    found = await central.rows("SELECT count(*) FROM order_sync_runs WHERE status = 'succeeded'")
    return int(found[0][0])


async def test_a_failing_source_never_stops_central_and_a_later_run_recovers(
    seeded: Central, caplog: pytest.LogCaptureFixture
) -> None:
    source = OrderSource()
    source.orders = [order("EXT-1", pos=("PO-1",))]
    source.fail_next = 4  # two whole runs fail (one try and one retry each)
    with serve_orders(source) as url, caplog.at_level(logging.INFO, "central.order_sync"):
        settings = CentralSettings(
            db_url=seeded.settings.db_url,
            order_sync_url=url,
            order_sync_site=SITE,
            order_sync_interval=0.05,
            order_sync_retries=1,
            order_sync_backoff=0.01,
        )
        app = create_app(settings, engine=seeded.engine)
        async with app.router.lifespan_context(app):
            for _ in range(500):
                if await succeeded(seeded):
                    break
                await asyncio.sleep(0.02)
            assert len(sync_tasks()) == 1  # still running after the failures
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
                assert (await client.get("/healthz")).status_code == 200
        assert sync_tasks() == []  # stopped with central
    runs = await seeded.rows("SELECT status, report FROM order_sync_runs ORDER BY id")
    assert [status for status, _ in runs][:3] == ["failed", "failed", "succeeded"]
    # A pull cut short by central stopping is recorded as failed, never left running.
    assert all(status != "running" for status, _ in runs)
    assert await seeded.count("sales_orders") == 1
    assert "failed 2 time(s), last: HTTP 503" in caplog.text
    assert "1 created" in caplog.text


async def test_there_is_no_periodic_pull_unless_configured(seeded: Central) -> None:
    app = create_app(CentralSettings(db_url=seeded.settings.db_url), engine=seeded.engine)
    async with app.router.lifespan_context(app):
        assert sync_tasks() == []
    interval_only = CentralSettings(db_url=seeded.settings.db_url, order_sync_interval=1)
    app = create_app(interval_only, engine=seeded.engine)
    async with app.router.lifespan_context(app):
        assert sync_tasks() == []


def test_a_periodic_pull_needs_its_site() -> None:
    with pytest.raises(ValidationError, match="IOE_ORDER_SYNC_SITE"):
        CentralSettings(order_sync_url="http://erp/orders", order_sync_interval=60)


async def test_a_pull_cut_short_by_a_stop_is_recorded_as_failed(seeded: Central) -> None:
    source = OrderSource()
    source.orders = [order("EXT-1")]
    source.fail_next = 100
    with serve_orders(source) as url:
        pull = Pull(url=url, site=SITE, retries=5, backoff=10)  # waits long between tries
        task = asyncio.create_task(pull_orders(seeded.engine, pull))
        while not source.requests:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    runs = await seeded.rows("SELECT status, report FROM order_sync_runs")
    assert [status for status, _ in runs] == ["failed"]
    assert "stopped before the last page" in str(runs[0][1])

"""Pulling a real HTTP order source: pages followed by cursor, ``since`` from the last
successful pull, retries bounded and reported, every pull recorded."""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from central.db.tables import order_sync_runs
from central.order_sync.pull import Pull, pull_orders
from harness.order_source import OrderSource, serve_orders
from tests.central.conftest import SITE, Central
from tests.central.order_sync.pages import order


@pytest.fixture
def source() -> Iterator[OrderSource]:
    """Seven orders (two POs each), three a page."""
    source = OrderSource(page_size=3)
    source.orders = [order(f"EXT-{n}", pos=(f"PO-{n}A", f"PO-{n}B")) for n in range(1, 8)]
    yield source


@pytest.fixture
async def url(source: OrderSource) -> AsyncIterator[str]:
    """Where the source is served."""
    with serve_orders(source) as url:
        yield url


async def started_at(central: Central, run_id: int) -> datetime:
    """When a recorded pull started."""
    async with central.engine.connect() as conn:
        found = await conn.scalar(
            select(order_sync_runs.c.started_at).where(order_sync_runs.c.id == run_id)
        )
    assert isinstance(found, datetime)
    return found


def how(url: str, **options: object) -> Pull:
    """A pull of ``url`` for the test site with short waits between retries."""
    return Pull(url=url, site=SITE, **({"retries": 2, "backoff": 0.01} | options))  # type: ignore[arg-type]


async def test_every_page_is_followed_and_applied(
    seeded: Central, source: OrderSource, url: str
) -> None:
    result = await pull_orders(seeded.engine, how(url))
    assert result.ok, result.error
    assert (result.report.pages, result.report.created, result.report.pos_created) == (3, 7, 14)
    assert [r.get("cursor") for r in source.requests] == [None, "3", "6"]
    assert await seeded.count("sales_orders") == 7
    runs = await seeded.rows("SELECT site, source, status, since FROM order_sync_runs")
    assert runs == [(SITE, url, "succeeded", None)]


async def test_the_next_pull_asks_since_the_last_success_and_full_asks_all(
    seeded: Central, source: OrderSource, url: str
) -> None:
    first = await pull_orders(seeded.engine, how(url))
    source.requests.clear()
    second = await pull_orders(seeded.engine, how(url))
    assert second.ok and second.since == await started_at(seeded, first.run_id)
    assert source.requests[0]["since"].endswith("Z")
    assert datetime.fromisoformat(source.requests[0]["since"]) == second.since
    assert second.report.created == 0 and first.report.created == 7
    source.requests.clear()
    full = await pull_orders(seeded.engine, how(url), full=True)
    assert "since" not in source.requests[0]
    assert (full.report.unchanged, full.report.created) == (7, 0)
    explicit = datetime(2026, 1, 1, tzinfo=UTC)
    source.requests.clear()
    await pull_orders(seeded.engine, how(url), since=explicit)
    assert source.requests[0]["since"] == "2026-01-01T00:00:00Z"


async def test_only_orders_changed_since_are_served_and_nothing_is_rewritten(
    seeded: Central, source: OrderSource, url: str
) -> None:
    await pull_orders(seeded.engine, how(url))
    source.changed = {o["number"]: datetime(2020, 1, 1, tzinfo=UTC) for o in source.orders}
    source.orders[0]["customer_ref"] = "NEW-REF"
    source.changed["EXT-1"] = datetime(2100, 1, 1, tzinfo=UTC)
    result = await pull_orders(seeded.engine, how(url))
    assert (result.report.pages, result.report.updated, result.report.unchanged) == (1, 1, 0)


async def test_failures_that_pass_are_retried(
    seeded: Central, source: OrderSource, url: str
) -> None:
    source.fail_next = 2  # 503, 503, then the page
    source.drop_next = 0
    result = await pull_orders(seeded.engine, how(url))
    assert result.ok, result.error
    assert len(source.requests) == 2 + 3
    source.requests.clear()
    source.drop_next = 1  # a connection closed without an answer
    again = await pull_orders(seeded.engine, how(url), full=True)
    assert again.ok, again.error
    assert len(source.requests) == 1 + 3


async def test_a_source_that_keeps_failing_ends_the_pull_with_a_clear_reason(
    seeded: Central, source: OrderSource, url: str
) -> None:
    first = await pull_orders(seeded.engine, how(url))
    last_ok = await started_at(seeded, first.run_id)
    source.fail_next = 100
    source.requests.clear()
    failed = await pull_orders(seeded.engine, how(url))
    assert not failed.ok
    assert failed.error == f"{url} failed 3 time(s), last: HTTP 503"
    assert len(source.requests) == 3  # bounded: 1 + 2 retries
    statuses = await seeded.rows("SELECT status FROM order_sync_runs ORDER BY id")
    assert statuses == [("succeeded",), ("failed",)]
    # The next pull still asks from the last success, so nothing changed meanwhile is missed.
    source.fail_next = 0
    source.requests.clear()
    recovered = await pull_orders(seeded.engine, how(url))
    assert recovered.ok
    assert recovered.since == last_ok


async def test_pages_applied_before_a_failure_stay_and_the_report_says_so(
    seeded: Central, source: OrderSource, url: str
) -> None:
    source.fail_cursor = "6"
    result = await pull_orders(seeded.engine, how(url))
    assert not result.ok and "HTTP 503" in (result.error or "")
    assert (result.report.pages, result.report.created) == (2, 6)
    assert await seeded.count("sales_orders") == 6
    (report,) = (await seeded.rows("SELECT status FROM order_sync_runs"))[0]
    assert report == "failed"


async def test_a_refusal_is_not_retried_and_a_token_is_sent(seeded: Central) -> None:
    source = OrderSource(token="s3cret")
    source.orders = [order("EXT-1")]
    with serve_orders(source) as url:
        refused = await pull_orders(seeded.engine, how(url))
        assert not refused.ok and "answered HTTP 401" in (refused.error or "")
        assert len(source.requests) == 1
        accepted = await pull_orders(seeded.engine, how(url, token="s3cret"))
    assert accepted.ok and accepted.report.created == 1


async def test_an_order_the_format_refuses_is_reported_and_the_rest_applied(
    seeded: Central, source: OrderSource, url: str
) -> None:
    source.orders[1]["lines"][0]["qty"] = 5  # a number, not a decimal string
    del source.orders[2]["customer"]
    result = await pull_orders(seeded.engine, how(url))
    assert result.ok
    assert result.report.created == 5
    errors = [(e["number"], e["code"]) for e in result.report.errors]
    assert errors == [("EXT-2", "INVALID_ORDER"), ("EXT-3", "INVALID_ORDER")]
    assert "customer" in result.report.errors[1]["message"]


async def test_an_unreachable_source_fails_after_the_retries(seeded: Central) -> None:
    with serve_orders(OrderSource()) as url:
        pass  # the server is gone: its port refuses connections
    result = await pull_orders(seeded.engine, how(url, retries=1))
    assert not result.ok
    assert "failed 2 time(s), last: ConnectError" in (result.error or "")

"""The reference cache file: records that ended leave after their keep time, a cap per kind,
GTINs follow their product, and a file it cannot read is set aside instead of stopping the edge.
"""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.ref_follow import RefFollower
from edge.ref_store import RefStore
from protocol.ref import RefItem
from tests.edge.ref_helpers import item, lp

KEEP = {"lp": timedelta(hours=72), "task": timedelta(hours=72), "hold": timedelta(hours=72)}
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path):
    s = await RefStore.open(tmp_path / "ref.db")
    yield s
    await s.close()


async def test_consumed_and_shipped_lps_leave_after_the_keep_time(store: RefStore) -> None:
    await store.apply_delta(
        "lp",
        1,
        [
            item("LP-C", lp("LP-C", status="consumed")),
            item("LP-S", lp("LP-S", status="shipped")),
            item("LP-A", lp("LP-A")),
        ],
        synced=True,
        now=T0,
    )
    # The consumed LP changes again later (a correction): it still leaves on its first schedule.
    await store.apply_delta(
        "lp",
        2,
        [item("LP-C", lp("LP-C", status="consumed", qty="0"))],
        synced=True,
        now=T0 + timedelta(hours=70),
    )
    # Still within 72 hours: all kept.
    assert await store.prune(KEEP, 1000, T0 + timedelta(hours=71)) == {}
    assert await store.get("lp", "LP-C") is not None
    removed = await store.prune(KEEP, 1000, T0 + timedelta(hours=73))
    assert removed == {"lp": 2}
    assert await store.get("lp", "LP-C") is None and await store.get("lp", "LP-S") is None
    assert (await store.get("lp", "LP-A"))["status"] == "available", "a live LP never expires"


async def test_an_lp_back_in_use_is_no_longer_due_to_leave(store: RefStore) -> None:
    await store.apply_delta(
        "lp", 1, [item("LP-1", lp("LP-1", status="shipped"))], synced=True, now=T0
    )
    # A return: the LP is available again.
    await store.apply_delta("lp", 2, [item("LP-1", lp("LP-1"))], synced=True, now=T0)
    assert await store.prune(KEEP, 1000, T0 + timedelta(days=30)) == {}


async def test_done_tasks_and_released_holds_leave_too(store: RefStore) -> None:
    tasks = [
        item("T1", {"number": "T1", "status": "done"}),
        item("T2", {"number": "T2", "status": "cancelled"}),
        item("T3", {"number": "T3", "status": "open"}),
    ]
    await store.apply_delta("task", 1, tasks, synced=True, now=T0)
    holds = [item("7", {"id": 7, "status": "released"}), item("8", {"id": 8, "status": "active"})]
    await store.apply_delta("hold", 1, holds, synced=True, now=T0)
    assert [t["number"] for t in await store.open_records("task")] == ["T3"]
    removed = await store.prune(KEEP, 1000, T0 + timedelta(hours=73))
    assert removed == {"task": 2, "hold": 1}
    assert (await store.counts())["task"] == 1 and (await store.counts())["hold"] == 1


async def test_shipments_gone_or_cancelled_leave_and_open_ones_stay(store: RefStore) -> None:
    statuses = ("planned", "loading", "dispatched", "in_transit", "delivered", "cancelled")
    shipments = [item(f"SH-{s}", {"number": f"SH-{s}", "status": s}) for s in statuses]
    await store.apply_delta("shipment", 1, shipments, synced=True, now=T0)
    open_now = sorted(r["status"] for r in await store.open_records("shipment"))
    assert open_now == ["loading", "planned"]
    keep = {**KEEP, "shipment": timedelta(hours=72)}
    assert await store.prune(keep, 1000, T0 + timedelta(hours=71)) == {}
    assert await store.prune(keep, 1000, T0 + timedelta(hours=73)) == {"shipment": 4}
    assert await store.get("shipment", "SH-loading") is not None


async def test_a_kind_over_its_cap_loses_its_ended_then_oldest_records_with_a_warning(
    store: RefStore, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(5):
        status = "consumed" if n == 4 else "available"
        await store.apply_delta(
            "lp",
            n + 1,
            [item(f"LP{n}", lp(f"LP{n}", status=status))],
            synced=True,
            now=T0 + timedelta(minutes=n),
        )
    with caplog.at_level(logging.WARNING):
        removed = await store.prune(KEEP, 3, T0 + timedelta(hours=1))
    assert removed == {"lp": 2}
    assert "over its cap of 3" in caplog.text and "ref_max_items" in caplog.text
    kept = {n for n in range(5) if await store.get("lp", f"LP{n}") is not None}
    assert kept == {1, 2, 3}, "the ended LP first, then the least recently changed"


async def test_gtins_follow_their_product(store: RefStore) -> None:
    product = {"code": "P-1", "name": "Bolt", "gtins": ["4006381333931", "96385074", "123"]}
    await store.apply_delta("product", 1, [item("P-1", product)], synced=True, now=T0)
    assert (await store.product_by_gtin("04006381333931"))["code"] == "P-1"
    assert (await store.product_by_gtin("96385074"))["code"] == "P-1", "a GTIN-8"
    assert await store.product_by_gtin("4006381333932") is None, "a wrong check digit"
    renamed = product | {"gtins": ["96385074"]}
    await store.apply_delta("product", 2, [item("P-1", renamed)], synced=True, now=T0)
    assert await store.product_by_gtin("4006381333931") is None, "a GTIN taken off the product"
    await store.apply_delta("product", 3, [RefItem(op="delete", key="P-1")], synced=True, now=T0)
    assert await store.product_by_gtin("96385074") is None


async def test_a_swap_replaces_the_kinds_of_the_snapshot_in_one_go(store: RefStore) -> None:
    await store.apply_delta("lp", 4, [item("OLD", lp("OLD"))], synced=True, now=T0)
    await store.apply_delta("location", 2, [item("A-01", {"code": "A-01"})], synced=True, now=T0)
    await store.stage("req-1", "lp", [item("NEW", lp("NEW"))])
    assert await store.get("lp", "NEW") is None, "staged pages are not visible"
    await store.swap("req-1", {"lp": 9}, T0)
    assert await store.get("lp", "OLD") is None and await store.get("lp", "NEW") is not None
    assert await store.get("location", "A-01") is not None, "other kinds stay"
    chains = await store.chains()
    assert (chains["lp"].last_id, chains["lp"].synced) == (9, True)
    assert chains["location"].last_id == 2


async def test_an_unreadable_cache_file_is_set_aside_and_started_anew(tmp_path: Path) -> None:
    path = tmp_path / "ref.db"
    path.write_bytes(b"this is not a database" * 100)
    store = await RefStore.open(path)
    try:
        chains = await store.chains()
        assert all(c.last_id == 0 and not c.synced for c in chains.values())
    finally:
        await store.close()
    assert [p.name for p in tmp_path.iterdir() if "unreadable" in p.name]


async def test_a_transaction_left_open_does_not_refuse_every_write_after_it(
    store: RefStore,
) -> None:
    """A COMMIT that failed (a full disk) or a statement a cancel cut short can leave the
    writer inside a transaction; the next write rolls it back and goes on, instead of every
    write failing with "cannot start a transaction within a transaction"."""
    await store._writer.execute("BEGIN IMMEDIATE")
    await store._writer.execute("DELETE FROM chains")  # half done, never committed
    await store.apply_delta("lp", 1, [item("LP-A", lp("LP-A"))], synced=True, now=T0)
    chains = await store.chains()
    assert chains["lp"].last_id == 1  # the open transaction's delete was not kept
    assert len(chains) > 1


async def test_a_cache_that_cannot_write_does_not_stop_the_follower(tmp_path: Path) -> None:
    """A write the cache refuses (a full disk) is logged; the follower keeps running and asks
    for its snapshot again once the cache can write (before, the error ended the edge)."""
    store = await RefStore.open(tmp_path / "ref.db")
    follower = RefFollower(
        store,
        site="plant-1",
        edge="edge-1",
        secret="s" * 32,
        central_key=b"\x01" * 32,
        snapshot_timeout=0.2,
    )
    await follower.load()
    await store._writer.execute("PRAGMA query_only = 1")  # the file refuses every write
    asked: list[str] = []

    async def publish(topic: str, payload: bytes) -> None:
        asked.append(topic)

    task = asyncio.create_task(follower.run(publish))
    try:
        await asyncio.sleep(0.5)
        assert not task.done() and asked == []  # refused, logged, still running
        await store._writer.execute("PRAGMA query_only = 0")
        async with asyncio.timeout(10):
            while not asked:
                await asyncio.sleep(0.05)
        assert asked == ["ioe/v1/plant-1/edge-1/ref-request"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()

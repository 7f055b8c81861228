"""A full disk on a real size-capped filesystem: scans refused, acks recorded, restart works.

The disk is filled the way it happens on a floor PC: another program (logs, a download)
takes every byte left while scans keep arriving. Each test mounts a filesystem of its own.
"""

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.errors import QueueFullError
from edge.queue import ActionQueue
from protocol import Ack, verify
from tests.edge.small_disk import KINDS, fill, free_bytes, small_disk

SITE, EDGE, SECRET = "plant-1", "edge-07", "edge-07-test-secret-0123456789"
RESERVE = 512 * 1024


@pytest.fixture(params=KINDS)
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB filesystem of its own (tmpfs, or ext4 on a loop device), unmounted after."""
    with small_disk(request.param, tmp_path, 8) as data:
        yield data


def rows(path: Path, sql: str) -> list[tuple]:
    """Read the file through a separate plain connection: sees committed data only."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def reserve_left(reserve: Path) -> int:
    return reserve.stat().st_size if reserve.exists() else 0


async def open_queue(disk: Path, reserve: int = RESERVE) -> ActionQueue:
    return await ActionQueue.open(
        disk / "queue.db", site=SITE, edge=EDGE, secret=SECRET, reserve_bytes=reserve
    )


async def scan(queue: ActionQueue, lp: str) -> str:
    action = await queue.enqueue(
        type="lp.move", station="s1", operator="op-1", body={"lp": lp, "to_location": "A-01"}
    )
    return action.id


async def scan_until_refused(queue: ActionQueue, saved: list[str]) -> None:
    """Scans keep coming after the disk filled: they are saved while the queue's own
    allocated space lasts, then refused."""
    for i in range(2000):
        try:
            saved.append(await scan(queue, f"LATE{i}"))
        except QueueFullError as err:
            assert "disk is full" in str(err) and "NOT saved" in str(err)
            return
    raise AssertionError("the full disk never refused a scan")


async def ack_one_by_one(queue: ActionQueue, ids: list[str]) -> None:
    """What the sync loop does for live scans: one send and one ack commit per action."""
    for action_id in ids:
        await queue.mark_sent([action_id])
        await queue.apply_acks([Ack(id=action_id, seq=1, result="applied")])


async def test_full_disk_refuses_scans_but_records_acks_across_a_restart(disk: Path) -> None:
    queue = await open_queue(disk)
    reserve = disk / "queue.reserve"
    assert reserve.stat().st_size == RESERVE  # preallocated at open
    saved = [await scan(queue, f"LP{i}") for i in range(40)]
    filler = fill(disk)
    await scan_until_refused(queue, saved)
    # Several scans arriving together on the full disk: every one refused, nothing written.
    burst = await asyncio.gather(*(scan(queue, f"X{i}") for i in range(4)), return_exceptions=True)
    assert all(isinstance(r, QueueFullError) for r in burst), burst
    seqs = [r[0] for r in rows(queue.path, "SELECT seq FROM actions ORDER BY seq")]
    assert seqs == list(range(1, len(saved) + 1))  # no half-written action, no gap
    assert [e["id"] for e in await queue.pending_batch(10_000)] == saved
    assert all(verify(e, SECRET) for e in await queue.pending_batch(10_000))

    # Acks for everything but the last five: recorded although the disk stays full.
    await ack_one_by_one(queue, saved[:-5])
    stats = await queue.stats()
    assert (stats.counts["applied"], stats.depth, stats.disk_full) == (len(saved) - 5, 5, True)
    assert reserve_left(reserve) < RESERVE  # the acks needed the reserve: they got some
    assert free_bytes(disk) < RESERVE
    with pytest.raises(QueueFullError):  # and scans may not take it
        await scan(queue, "STILL-FULL")
    await queue.close()
    fill(disk)  # closing gave back the WAL's space; something else takes it at once

    # Restart with the disk still full: the queue opens, reports, refuses scans, takes acks.
    queue = await open_queue(disk)
    try:
        stats = await queue.stats()
        assert (stats.depth, stats.next_seq, stats.disk_full) == (5, len(saved) + 1, True)
        with pytest.raises(QueueFullError):
            await scan(queue, "AFTER-RESTART")
        await ack_one_by_one(queue, saved[-5:])
        assert (await queue.stats()).counts["applied"] == len(saved)

        # Space freed: the reserve is made again first, then scans are saved, seq gap-free.
        filler.unlink()
        await scan(queue, "FREED")
        stats = await queue.stats()
        assert (stats.next_seq, stats.disk_full) == (len(saved) + 2, False)
        assert reserve.stat().st_size == RESERVE
    finally:
        await queue.close()


# The queue in a process of its own: "work" queues 20 actions and is SIGKILLed, leaving the
# queue's -wal and -shm behind; "restart" opens the queue again and reports what it says and
# does before and at the first scan. A crash (SIGBUS) fails the test, not the test run.
EDGE_PROCESS = """
import asyncio, json, os, signal, sys
from edge.errors import QueueFullError
from edge.queue import ActionQueue

async def main(mode, path, reserve):
    queue = await ActionQueue.open(
        path, site="plant-1", edge="edge-07", secret="edge-07-test-secret-0123456789",
        reserve_bytes=reserve,
    )
    def move(lp):
        return queue.enqueue(
            type="lp.move", station="s1", operator="op-1", body={"lp": lp, "to_location": "A-1"}
        )
    if mode == "work":
        for i in range(20):
            await move(f"LP{i}")
        os.kill(os.getpid(), signal.SIGKILL)
    stats = await queue.stats()
    try:
        await move("AFTER-RESTART")
        scan = "saved"
    except QueueFullError:
        scan = "refused"
    after = await queue.stats()
    await queue.close()
    print(json.dumps({"depth": stats.depth, "disk_full": stats.disk_full, "scan": scan,
                      "next_seq": after.next_seq}))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def edge_process(mode: str, disk: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", EDGE_PROCESS, mode, str(disk / "queue.db"), str(RESERVE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_restart_after_a_kill_on_a_full_disk_says_full_before_any_scan(disk: Path) -> None:
    killed = edge_process("work", disk)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (disk / "queue.db-wal").exists() and (disk / "queue.db-shm").exists()
    assert reserve_left(disk / "queue.reserve") == RESERVE  # nothing failed: the reserve is whole
    filler = fill(disk)

    restarted = edge_process("restart", disk)
    assert restarted.returncode == 0, (restarted.returncode, restarted.stderr)
    # Before anyone scans, the queue already says what the first scan then meets.
    report = json.loads(restarted.stdout)
    assert report == {"depth": 20, "disk_full": True, "scan": "refused", "next_seq": 21}

    filler.unlink()
    queue = await open_queue(disk)
    try:
        assert (await queue.stats()).disk_full is False
        await scan(queue, "FREED")
        assert (await queue.stats()).next_seq == 22  # numbering without a gap
    finally:
        await queue.close()


async def test_disk_full_follows_free_space_both_ways_before_any_scan(disk: Path) -> None:
    queue = await open_queue(disk)
    try:
        saved = [await scan(queue, f"LP{i}") for i in range(10)]
        assert (await queue.stats()).disk_full is False
        filler = fill(disk)  # something else fills the disk while no scan comes
        assert (await queue.stats()).disk_full is True
        await scan_until_refused(queue, saved)
        assert len(saved) == 10  # what it said: the next scan was refused, nothing written
        await ack_one_by_one(queue, saved[:5])  # acks still go through, from the reserve
        assert reserve_left(disk / "queue.reserve") < RESERVE
        assert (await queue.stats()).disk_full is True

        filler.unlink()
        # Freed: reported at once, and true, since the next scan is saved.
        assert (await queue.stats()).disk_full is False
        await scan(queue, "FREED")
        stats = await queue.stats()
        assert (stats.next_seq, stats.disk_full) == (12, False)
        assert reserve_left(disk / "queue.reserve") == RESERVE  # remade before the scan

        # Freed only a little: more than a scan needs but less than the reserve's worth the
        # edge waits for once it found the disk full, so scans stay refused, and it says so.
        filler = fill(disk)
        await scan_until_refused(queue, [])
        os.truncate(filler, filler.stat().st_size - RESERVE // 2)
        assert free_bytes(disk) >= RESERVE // 2
        assert (await queue.stats()).disk_full is True
        with pytest.raises(QueueFullError):
            await scan(queue, "HALF-FREED")
        filler.unlink()
        assert (await queue.stats()).disk_full is False
        await scan(queue, "FREED-AGAIN")
    finally:
        await queue.close()


async def test_without_a_reserve_the_same_full_disk_loses_acks(disk: Path) -> None:
    # The control: the filesystem really is full, and recording acks really needs space.
    queue = await open_queue(disk, reserve=0)
    try:
        saved = [await scan(queue, f"LP{i}") for i in range(40)]
        fill(disk)
        await scan_until_refused(queue, saved)
        with pytest.raises(QueueFullError, match="disk is full"):
            await ack_one_by_one(queue, saved)
    finally:
        await queue.close()


@pytest.mark.parametrize("reserve", [RESERVE, 0])
async def test_size_capped_file_keeps_room_for_acks(tmp_path: Path, reserve: int) -> None:
    # Always available (no mount): the queue file's own size cap makes SQLite answer "full".
    queue = await open_queue(tmp_path, reserve=reserve)
    try:
        saved = [await scan(queue, f"LP{i}") for i in range(10)]
        await queue.set_size_limit(1)  # no page beyond those the file has now, for scans
        await scan_until_refused(queue, saved)
        assert len(saved) > 10  # the free room in its pages was used first
        codes = [f"CODE-{i}-" + "x" * 60 for i in range(len(saved))]
        acks = [
            Ack(id=i, seq=1, result="conflict", code="LP_CONSUMED", message=m, conflict_id=7)
            for i, m in zip(saved, codes, strict=True)
        ]

        async def record() -> None:
            for ack in acks:  # long messages: the rows grow
                await queue.apply_acks([ack])

        if reserve == 0:
            # The control: without room kept back, the outcomes do not fit.
            with pytest.raises(QueueFullError):
                await record()
            return
        await record()
        assert (await queue.stats()).counts["conflict"] == len(saved)
        with pytest.raises(QueueFullError):  # scans still may not take the acks' room
            await scan(queue, "STILL-FULL")
    finally:
        await queue.close()

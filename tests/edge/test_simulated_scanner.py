"""The simulated scanner reads scans from a regular file, a tailed file, a FIFO and stdin."""

import asyncio
import errno
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.errors import ScannerError
from edge.scanners.simulated import LineSplitter, SimulatedScanner

STEP = 5.0  # generous bound on each await; none of these should take more than a moment


async def _take(scans: AsyncIterator[str], count: int) -> list[str]:
    out = []
    for _ in range(count):
        out.append(await asyncio.wait_for(anext(scans), STEP))
    return out


def test_line_splitter_handles_every_terminator_and_chunking() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"LOC:A-01\r\nLP1\rLP2\nLP") == ["LOC:A-01", "LP1", "LP2"]
    assert splitter.feed(b"3\r") == ["LP3"]
    assert splitter.feed(b"\n\n]C0LP4") == []
    assert splitter.flush() == ["]C0LP4"]
    assert splitter.feed(b"\x1d00106141411234567897\r\n") == ["\x1d00106141411234567897"]


async def test_regular_file_is_read_once(tmp_path: Path) -> None:
    path = tmp_path / "scans.txt"
    path.write_bytes(b"LOC:A-01\r\nLP1\r\n\r\nLP2")
    scanner = SimulatedScanner(path)
    assert [line async for line in scanner.scans()] == ["LOC:A-01", "LP1", "LP2"]


async def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScannerError, match="does not exist"):
        async for _ in SimulatedScanner(tmp_path / "nope.txt").scans():
            pass


async def test_follow_tails_appended_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "scans.txt"
    path.write_text("OLD-1\nOLD-2\n")  # handled by an earlier run: never replayed
    scans = SimulatedScanner(path, follow=True, poll_interval=0.01).scans()
    first = asyncio.ensure_future(anext(scans))
    await asyncio.sleep(0.1)  # let it reach the end of the file
    with path.open("a") as handle:
        handle.write("LP1\r\nLP")
        handle.flush()
        assert await asyncio.wait_for(first, STEP) == "LP1"
        handle.write("2\n")
    assert await _take(scans, 1) == ["LP2"]
    path.write_text("NEW\n")  # truncated and rewritten: read from the top again
    assert await _take(scans, 1) == ["NEW"]
    await scans.aclose()


async def test_a_followed_file_made_after_the_start_is_read_from_its_first_line(
    tmp_path: Path,
) -> None:
    from edge.scanners.base import DriverState, RawScan

    path = tmp_path / "late.scans"
    states: list[DriverState] = []
    seen: list[str] = []
    two = asyncio.Event()

    async def on_scan(raw: RawScan) -> None:
        seen.append(raw.data)
        if len(seen) == 2:
            two.set()

    scanner = SimulatedScanner(path, follow=True, poll_interval=0.01)
    task = asyncio.create_task(scanner.run(on_scan, states.append))
    await asyncio.sleep(0.05)
    assert [s.status for s in states] == ["waiting"]
    path.write_text("LP-1\n")  # the file appears with its first scan in it
    await asyncio.sleep(0.05)
    with path.open("a") as handle:
        handle.write("LP-2\n")
    await asyncio.wait_for(two.wait(), STEP)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert seen == ["LP-1", "LP-2"]
    assert [s.status for s in states] == ["waiting", "connected"]


async def test_a_missing_file_is_an_error_state_and_never_connected(tmp_path: Path) -> None:
    from edge.scanners.base import DriverState, RawScan

    states: list[DriverState] = []

    async def on_scan(raw: RawScan) -> None:
        raise AssertionError("nothing to read")

    await SimulatedScanner(tmp_path / "nope.txt").run(on_scan, states.append)
    assert [s.status for s in states] == ["error"]
    assert "does not exist" in (states[0].reason or "")


async def test_fifo_survives_writers_coming_and_going(tmp_path: Path) -> None:
    path = tmp_path / "scanner.fifo"
    os.mkfifo(path)
    scans = SimulatedScanner(path).scans()
    first = asyncio.ensure_future(anext(scans))
    # A non-blocking open for writing fails (ENXIO) until the scanner has the FIFO open.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as err:
            if err.errno != errno.ENXIO or loop.time() > deadline:
                raise
            await asyncio.sleep(0.01)
    for n, lines in enumerate((b"LOC:A-01\r\nLP1\r\n", b"LP2\n")):
        if n:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # a reader holds it open already
        os.write(fd, lines)
        os.close(fd)  # the writer goes away; the scanner keeps reading
    assert await asyncio.wait_for(first, STEP) == "LOC:A-01"
    assert await _take(scans, 2) == ["LP1", "LP2"]
    await scans.aclose()


def test_stdin(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import asyncio
        from edge.scanners.simulated import SimulatedScanner

        async def main():
            async for line in SimulatedScanner("-").scans():
                print(repr(line))

        asyncio.run(main())
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=b"LOC:A-01\r\nLP1\rLP2",
        capture_output=True,
        timeout=30,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == ["'LOC:A-01'", "'LP1'", "'LP2'"]

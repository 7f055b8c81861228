"""The simulated scanner: each line of a file, a FIFO or stdin is one scan.

Lines end with LF, CR or CRLF (real scanners often send a bare CR); blank lines are skipped.
"""

import asyncio
import contextlib
import os
import stat
import sys
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.errors import ScannerError
from edge.scanners.base import DriverState, RawScan, ScanSink, StateSink
from edge.scanners.framing import Framer

_CHUNK = 65536


class SimulatedScannerConfig(BaseModel):
    """``kind = "simulated"``: scans are lines of a file, a FIFO or stdin."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["simulated"] = "simulated"
    path: str = Field(default="-", min_length=1)
    follow: bool = False


class LineSplitter:
    """Cuts a byte stream into scans at line terminators, keeping any partial last line."""

    def __init__(self) -> None:
        # Files are typed by people, so UTF-8; a line far beyond any barcode is dropped (the
        # decoder would refuse it anyway) so a runaway file cannot fill memory.
        self._framer = Framer("any", encoding="utf-8", max_scan_bytes=_CHUNK)

    def feed(self, data: bytes) -> list[str]:
        """Complete lines found so far (decoded, terminators removed, blanks skipped)."""
        return [scan.data for scan in self._framer.feed(data)]

    def flush(self) -> list[str]:
        """The unterminated last line at end of input, if any."""
        return [scan.data for scan in self._framer.flush()]


class SimulatedScanner:
    """Reads scans from a regular file (once, or tailed with ``follow``), a FIFO, or stdin."""

    def __init__(
        self, path: str | Path, *, follow: bool = False, poll_interval: float = 0.2
    ) -> None:
        self.path = str(path)
        self.follow = follow
        self.poll_interval = poll_interval

    async def run(self, on_scan: ScanSink, on_state: StateSink) -> None:
        """The driver interface: every line a scan; a missing source is an error state."""
        device = "stdin" if self.path == "-" else self.path
        if self.path != "-" and self.follow and not os.path.exists(self.path):
            on_state(DriverState("simulated", "waiting", device, f"{self.path} does not exist yet"))

        def opened() -> None:
            on_state(DriverState("simulated", "connected", device))

        try:
            async for line in self.scans(opened):
                await on_scan(RawScan(data=line, raw=line.encode("utf-8")))
        except ScannerError as err:
            on_state(DriverState("simulated", "error", device, str(err)))
            return
        on_state(DriverState("simulated", "stopped", device, "end of input"))

    async def scans(self, opened: Callable[[], None] | None = None) -> AsyncIterator[str]:
        """Each raw scan, as the scanner would send it (line terminator removed); ``opened``
        is called once the source is there (a followed file may appear later)."""
        if self.path == "-":
            source = _stdin_lines()
        else:
            kind, appeared = await self._kind()
            if kind == "fifo":
                source = self._fifo_lines()
            else:
                source = self._file_lines(from_start=appeared)
        if opened is not None:
            opened()
        async for line in source:
            yield line

    async def _kind(self) -> tuple[str, bool]:
        """ "fifo" or "file", and whether it appeared only after we started looking."""
        appeared = False
        while True:
            try:
                mode = os.stat(self.path).st_mode
            except FileNotFoundError as err:
                if not self.follow:
                    raise ScannerError(f"simulated scanner: {self.path} does not exist") from err
                appeared = True
                await asyncio.sleep(self.poll_interval)  # tailing: wait for it to appear
                continue
            except OSError as err:
                raise ScannerError(f"simulated scanner: cannot stat {self.path}: {err}") from err
            if stat.S_ISFIFO(mode):
                return "fifo", appeared
            if stat.S_ISREG(mode):
                return "file", appeared
            raise ScannerError(f"simulated scanner: {self.path} is neither a file nor a FIFO")

    async def _file_lines(self, *, from_start: bool = False) -> AsyncIterator[str]:
        """A regular file: read once, or (follow) only the lines appended from now on; all of
        it when it appeared after the scanner started (every line in it is a new scan)."""
        try:
            handle = await asyncio.to_thread(open, self.path, "rb")
        except OSError as err:
            raise ScannerError(f"simulated scanner: cannot open {self.path}: {err}") from err
        splitter = LineSplitter()
        try:
            if self.follow and not from_start:
                # Like `tail -f -n 0`: a restart must not replay scans already handled.
                await asyncio.to_thread(handle.seek, 0, os.SEEK_END)
            while True:
                data = await asyncio.to_thread(handle.read, _CHUNK)
                if data:
                    for line in splitter.feed(data):
                        yield line
                    continue
                if not self.follow:
                    for line in splitter.flush():
                        yield line
                    return
                size = (await asyncio.to_thread(os.fstat, handle.fileno())).st_size
                if size < handle.tell():  # truncated: start again from the top
                    await asyncio.to_thread(handle.seek, 0)
                    splitter = LineSplitter()
                    continue
                await asyncio.sleep(self.poll_interval)
        finally:
            handle.close()

    async def _fifo_lines(self) -> AsyncIterator[str]:
        """A FIFO read through the event loop; writers may come and go."""
        loop = asyncio.get_running_loop()
        # O_RDWR keeps a writer end open ourselves, so a writer closing never ends the
        # stream (the effect of reopening) and opening never blocks waiting for a writer.
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        except OSError as err:
            raise ScannerError(f"simulated scanner: cannot open FIFO {self.path}: {err}") from err
        reader = asyncio.StreamReader()
        pipe = os.fdopen(fd, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
        splitter = LineSplitter()
        try:
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    for line in splitter.flush():
                        yield line
                    return
                for line in splitter.feed(data):
                    yield line
        finally:
            transport.close()


async def _stdin_lines() -> AsyncIterator[str]:
    """stdin, read by a daemon thread so a blocked read never holds up shutdown."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
    fd = sys.stdin.fileno()

    def pump() -> None:
        while True:
            try:
                data = os.read(fd, _CHUNK)
            except OSError:
                data = b""
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
                loop.call_soon_threadsafe(chunks.put_nowait, data or None)
            if not data:
                return

    threading.Thread(target=pump, name="scanner-stdin", daemon=True).start()
    splitter = LineSplitter()
    while True:
        data = await chunks.get()
        if data is None:
            for line in splitter.flush():
                yield line
            return
        for line in splitter.feed(data):
            yield line

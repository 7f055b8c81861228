"""The serial driver for real, over pseudo-terminals: pyserial opens the slave, the test writes
to the master as the scanner would, and unplugs it by closing the master.
"""

import asyncio
import errno
import logging
import os
import termios
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import serial
from serial.tools.list_ports_common import ListPortInfo

from edge.scanners.base import DriverState, RawScan
from edge.scanners.serial import SerialScanner, SerialScannerConfig, _open_failure

STEP = 2.0  # bound on every wait; each should take a moment


class Pty:
    """A pseudo-terminal pair: ``path`` is the slave the driver opens, writes go to the master."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        os.close(slave)
        self.open = True

    def write(self, data: bytes) -> None:
        """Bytes as the scanner sends them."""
        os.write(self.master, data)

    def unplug(self) -> None:
        """The scanner goes away: the slave's reads now fail with EIO."""
        if self.open:
            os.close(self.master)
            self.open = False


@contextmanager
def ptys(count: int = 1) -> Iterator[list[Pty]]:
    made = [Pty() for _ in range(count)]
    try:
        yield made
    finally:
        for pty in made:
            pty.unplug()


class Recorder:
    """What a driver handed on: scans and states, with waits for them to arrive."""

    def __init__(self, *, scan_delay: float = 0.0) -> None:
        self.scans: list[RawScan] = []
        self.states: list[DriverState] = []
        self.scan_delay = scan_delay
        self.in_on_scan = 0
        self.most_in_on_scan = 0
        self._changed = asyncio.Event()

    async def on_scan(self, scan: RawScan) -> None:
        self.in_on_scan += 1
        self.most_in_on_scan = max(self.most_in_on_scan, self.in_on_scan)
        if self.scan_delay:
            await asyncio.sleep(self.scan_delay)
        self.scans.append(scan)
        self.in_on_scan -= 1
        self._changed.set()

    def on_state(self, state: DriverState) -> None:
        self.states.append(state)
        self._changed.set()

    @property
    def data(self) -> list[str]:
        return [scan.data for scan in self.scans]

    @property
    def statuses(self) -> list[str]:
        """Statuses in order, repeats (a new reason, same status) folded."""
        out: list[str] = []
        for state in self.states:
            if not out or out[-1] != state.status:
                out.append(state.status)
        return out

    async def until(self, check: Callable[[], bool], what: str) -> None:
        try:
            async with asyncio.timeout(STEP):
                while True:
                    self._changed.clear()
                    if check():
                        return
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"timed out waiting for {what}; scans {self.data}, states {self.states}"
            ) from None

    async def scans_count(self, count: int) -> None:
        await self.until(lambda: len(self.scans) >= count, f"{count} scans")

    async def status(self, status: str, *, nth: int = 1) -> DriverState:
        """The nth time (counting from the start) the driver reported ``status``."""

        def seen() -> list[DriverState]:
            return [s for s in self.states if s.status == status]

        await self.until(lambda: len(seen()) >= nth, f"status {status} #{nth}")
        return seen()[nth - 1]


def config(**fields: Any) -> SerialScannerConfig:
    return SerialScannerConfig.model_validate({"kind": "serial", **fields})


@asynccontextmanager
async def running(
    scanner_config: SerialScannerConfig,
    recorder: Recorder,
    *,
    comports: Callable[[], Sequence[ListPortInfo]] | None = None,
    watch_interval: float = 1.0,
) -> AsyncIterator[SerialScanner]:
    """The driver running in a task; cancelled (and checked stopped) at the end."""
    extra: dict[str, Any] = {} if comports is None else {"comports": comports}
    scanner = SerialScanner(
        scanner_config, retry_initial=0.02, retry_max=0.1, watch_interval=watch_interval, **extra
    )
    task = asyncio.create_task(scanner.run(recorder.on_scan, recorder.on_state))
    try:
        yield scanner
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert recorder.states[-1].status == "stopped"


async def test_scans_split_across_writes_arrive_whole() -> None:
    recorder = Recorder()
    with ptys() as (pty,):
        async with running(config(path=pty.path), recorder):
            connected = await recorder.status("connected")
            assert (connected.kind, connected.device, connected.reason) == (
                "serial",
                pty.path,
                None,
            )
            assert connected.since.endswith("Z")
            for piece in (b"LP00", b"01\rLOC:A", b"-", b"01\r", b"]C1\x1d00", b"1234\r"):
                pty.write(piece)
                await asyncio.sleep(0.01)
            await recorder.scans_count(3)
    assert recorder.scans == [
        RawScan("LP0001", b"LP0001\r"),
        RawScan("LOC:A-01", b"LOC:A-01\r"),
        RawScan("]C1\x1d001234", b"]C1\x1d001234\r"),
    ]


async def test_a_crlf_split_across_writes_is_one_scan() -> None:
    recorder = Recorder()
    with ptys() as (pty,):
        async with running(config(path=pty.path, terminator="crlf"), recorder):
            await recorder.status("connected")
            pty.write(b"LP1\r")
            await asyncio.sleep(0.05)
            pty.write(b"\nLP2\r\n")
            await recorder.scans_count(2)
    assert recorder.scans == [RawScan("LP1", b"LP1\r\n"), RawScan("LP2", b"LP2\r\n")]


async def test_a_burst_of_50_scans_arrives_whole_and_in_order() -> None:
    recorder = Recorder()
    expected = [f"LP{n:018d}" for n in range(50)]
    with ptys() as (pty,):
        async with running(config(path=pty.path, prefix="\\x02", suffix="\\x03"), recorder):
            await recorder.status("connected")
            started = time.monotonic()
            for n, code in enumerate(expected):
                pty.write(b"\x02" + code.encode() + b"\x03\r")
                if n % 5 == 4:
                    await asyncio.sleep(0.01)
            assert time.monotonic() - started < 1.0
            await recorder.scans_count(50)
    assert recorder.data == expected
    assert recorder.scans[0].raw == b"\x02" + expected[0].encode() + b"\x03\r"


async def test_two_scanners_written_at_once_never_mix() -> None:
    first, second = Recorder(), Recorder()
    with ptys(2) as (pty_a, pty_b):
        async with (
            running(config(path=pty_a.path), first),
            running(config(path=pty_b.path), second),
        ):
            await first.status("connected")
            await second.status("connected")

            async def type_scans(pty: Pty, letter: bytes) -> None:
                # Byte by byte with yields in between, so the two streams interleave in time.
                for _ in range(10):
                    for byte in letter * 12 + b"\r":
                        pty.write(bytes([byte]))
                        await asyncio.sleep(0)
                    await asyncio.sleep(0.002)

            await asyncio.gather(type_scans(pty_a, b"A"), type_scans(pty_b, b"B"))
            await first.scans_count(10)
            await second.scans_count(10)
    assert first.data == ["A" * 12] * 10
    assert second.data == ["B" * 12] * 10


async def test_line_noise_keeps_the_scan_and_decodes_it_deterministically() -> None:
    recorder = Recorder()
    with ptys() as (pty,):
        async with running(config(path=pty.path), recorder):
            await recorder.status("connected")
            # NUL, 0xFF, XOFF (flow control is off: it is data) and GS inside scans.
            pty.write(b"LP\x00\xff01\r\x13LOC\x1dA\r")
            await recorder.scans_count(2)
    assert recorder.scans == [
        RawScan("LP\x00\ufffd01", b"LP\x00\xff01\r"),
        RawScan("\x13LOC\x1dA", b"\x13LOC\x1dA\r"),
    ]


async def test_no_terminator_ends_a_scan_after_a_pause() -> None:
    recorder = Recorder()
    with ptys() as (pty,):
        async with running(
            config(path=pty.path, terminator="none", inter_char_timeout_ms=300), recorder
        ):
            await recorder.status("connected")
            pty.write(b"LP")
            await asyncio.sleep(0.01)  # a gap shorter than the timeout: the same scan
            pty.write(b"1")
            await recorder.scans_count(1)
            pty.write(b"LP2")
            await recorder.scans_count(2)
    assert recorder.scans == [RawScan("LP1", b"LP1"), RawScan("LP2", b"LP2")]


async def test_each_scan_is_handed_on_only_after_the_last_was_handled() -> None:
    recorder = Recorder(scan_delay=0.02)
    with ptys() as (pty,):
        async with running(config(path=pty.path), recorder):
            await recorder.status("connected")
            pty.write(b"".join(f"LP{n}\r".encode() for n in range(10)))
            await recorder.scans_count(10)
    assert recorder.data == [f"LP{n}" for n in range(10)]
    assert recorder.most_in_on_scan == 1


async def test_settings_reach_the_port() -> None:
    recorder = Recorder()
    with ptys() as (pty,):
        settings = config(path=pty.path, baudrate=19200, bytesize=7, parity="even", stopbits=2)
        async with running(settings, recorder):
            await recorder.status("connected")
            fd = os.open(pty.path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
            try:
                iflag, _, cflag, lflag, ispeed, _, _ = termios.tcgetattr(fd)
            finally:
                os.close(fd)
    # A pty keeps the speed and stop bits it is given (it forces CS8 and no parity, so the
    # character size and parity asked for cannot be seen here).
    assert cflag & termios.CSTOPB
    assert ispeed == termios.B19200
    assert not lflag & termios.ICANON and not iflag & (termios.ICRNL | termios.IXON)


async def test_unplug_and_return_reconnects_without_spinning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "scanner"  # the configured path; re-pointed as udev would
    recorder = Recorder()
    with ptys(2) as (first, second):
        link.symlink_to(first.path)
        with caplog.at_level(logging.WARNING, logger="edge.scanners.serial"):
            async with running(config(path=str(link)), recorder):
                await recorder.status("connected")
                first.write(b"LP1\rLP-PART")
                await recorder.scans_count(1)
                first.unplug()
                link.unlink()
                waiting = await recorder.status("waiting")
                assert waiting.device == str(link)
                # Linux answers a read of a hung-up pty with end of file; a USB adapter may
                # fail it with EIO instead: either is the device going away.
                assert waiting.reason == "device gone: the port was closed (end of file)"
                await recorder.until(
                    lambda: recorder.states[-1].reason == f"no device at {link}", "not found"
                )
                # Waiting for the device must cost (next to) no CPU: a dead fd left in the
                # selector would spin the loop and burn the whole second.
                cpu = time.process_time()
                await asyncio.sleep(1.0)
                cpu = time.process_time() - cpu
                assert cpu < 0.2, f"{cpu:.2f} s of CPU spent waiting for an unplugged scanner"
                assert recorder.statuses == ["connected", "waiting"]
                link.symlink_to(second.path)  # it comes back as another device
                await recorder.status("connected", nth=2)
                second.write(b"LP2\r")
                await recorder.scans_count(2)
    assert recorder.data == ["LP1", "LP2"]  # the partial scan at the unplug was not handed on
    assert recorder.statuses == ["connected", "waiting", "connected", "stopped"]
    assert "dropped 7 bytes b'LP-PART'" in caplog.text


async def test_a_path_that_now_names_another_device_is_reopened(tmp_path: Path) -> None:
    link = tmp_path / "scanner"
    recorder = Recorder()
    with ptys(2) as (first, second):
        link.symlink_to(first.path)
        async with running(config(path=str(link)), recorder, watch_interval=0.05):
            await recorder.status("connected")
            link.unlink()
            link.symlink_to(second.path)  # the old device is still there, just not ours
            waiting = await recorder.status("waiting")
            assert waiting.reason == f"device gone: {link} now names another device"
            await recorder.status("connected", nth=2)
            second.write(b"LP2\r")
            await recorder.scans_count(1)
    assert recorder.data == ["LP2"]


async def test_a_missing_device_is_waited_for(tmp_path: Path) -> None:
    link = tmp_path / "scanner"
    recorder = Recorder()
    with ptys() as (pty,):
        async with running(config(path=str(link)), recorder):
            waiting = await recorder.status("waiting")
            assert (waiting.device, waiting.reason) == (str(link), f"no device at {link}")
            link.symlink_to(pty.path)
            await recorder.status("connected")
            pty.write(b"LP1\r")
            await recorder.scans_count(1)


async def test_a_device_that_is_no_serial_port_is_an_error_then_recovers(tmp_path: Path) -> None:
    link = tmp_path / "scanner"
    not_a_tty = tmp_path / "file"
    not_a_tty.write_bytes(b"")
    link.symlink_to(not_a_tty)
    recorder = Recorder()
    with ptys() as (pty,):
        async with running(config(path=str(link)), recorder):
            error = await recorder.status("error")
            assert error.device == str(link)
            assert "Could not configure port" in str(error.reason)
            assert "Inappropriate ioctl for device" in str(error.reason)
            link.unlink()
            link.symlink_to(pty.path)
            await recorder.status("connected")
    assert recorder.statuses == ["error", "connected", "stopped"]


async def test_a_port_in_use_is_an_error_with_the_reason() -> None:
    recorder = Recorder()
    with ptys() as (pty,):
        other = serial.Serial(pty.path, exclusive=True)  # say, a terminal program
        try:
            async with running(config(path=pty.path), recorder):
                error = await recorder.status("error")
                assert "is in use by another program" in str(error.reason)
                other.close()
                await recorder.status("connected")
        finally:
            other.close()


async def test_cancel_closes_the_port() -> None:
    recorder = Recorder()
    with ptys() as (pty,):
        async with running(config(path=pty.path), recorder):
            await recorder.status("connected")
        # Closed: another program can have it now.
        serial.Serial(pty.path, exclusive=True).close()


def usb_port(device: str, serial_number: str | None) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = 0x05E0, 0x1200, serial_number
    info.apply_usb_info()
    return info


async def test_by_usb_id_found_again_after_a_replug_as_another_device() -> None:
    recorder = Recorder()
    listed: list[ListPortInfo] = []
    with ptys(2) as (first, second):
        settings = config(vid="05E0", pid="0x1200", serial_number="S123")
        async with running(settings, recorder, comports=lambda: listed):
            waiting = await recorder.status("waiting")
            assert waiting.reason == "no port matches vid=05e0 pid=1200 serial=S123"
            listed[:] = [usb_port(first.path, "OTHER"), usb_port(second.path, "S123")]
            connected = await recorder.status("connected")
            assert connected.device == second.path
            second.write(b"LP1\r")
            await recorder.scans_count(1)
            second.unplug()
            listed[:] = []
            await recorder.status("waiting", nth=2)
            replug = Pty()  # back, under a new device name
            try:
                listed[:] = [usb_port(replug.path, "S123")]
                connected = await recorder.status("connected", nth=2)
                assert connected.device == replug.path
                replug.write(b"LP2\r")
                await recorder.scans_count(2)
            finally:
                replug.unplug()
    assert recorder.data == ["LP1", "LP2"]


async def test_two_alike_devices_are_an_error_naming_both() -> None:
    recorder = Recorder()
    with ptys(2) as (first, second):
        listed = [usb_port(first.path, None), usb_port(second.path, None)]
        async with running(config(vid="05e0", pid="1200"), recorder, comports=lambda: listed):
            error = await recorder.status("error")
            assert first.path in str(error.reason) and second.path in str(error.reason)
            assert error.reason is not None and error.reason.startswith(
                "2 ports match vid=05e0 pid=1200:"
            )
            del listed[1]  # one unplugged: no longer ambiguous
            connected = await recorder.status("connected")
            assert connected.device == first.path


@pytest.mark.parametrize(
    "error, status, reason",
    [
        (
            serial.SerialException(errno.EACCES, "could not open port /dev/ttyUSB0: denied"),
            "error",
            "permission denied opening /dev/ttyUSB0: add the edge's user to the group",
        ),
        (
            serial.SerialException(errno.ENOENT, "could not open port /dev/ttyUSB0: gone"),
            "waiting",
            "/dev/ttyUSB0 went away while being opened",
        ),
        (ValueError("Invalid baud rate: -1"), "error", "/dev/ttyUSB0 refused the settings"),
    ],
)
def test_open_failures_say_what_to_do(error: Exception, status: str, reason: str) -> None:
    # As root (CI) a permission problem cannot be made for real; pyserial's own exception is.
    assert _open_failure("/dev/ttyUSB0", error)[0] == status
    assert _open_failure("/dev/ttyUSB0", error)[1].startswith(reason)

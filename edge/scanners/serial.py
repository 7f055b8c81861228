"""The serial scanner driver: RS-232 and USB virtual COM port scanners, read through pyserial.

The port is opened non-blocking and read from the event loop (``add_reader``), one chunk per
readiness; scans are framed by ``Framer`` and handed on one at a time. An unplugged scanner is
waited for and reopened by itself, so a re-plug never needs an edge restart.
"""

import asyncio
import contextlib
import errno
import logging
import os
import termios
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import serial
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from serial.tools import list_ports

from edge.scanners.base import DriverState, DriverStatus, ScanSink, StateSink
from edge.scanners.framing import Framer, Terminator, parse_escapes
from edge.scanners.serial_ports import (
    Comports,
    PortAmbiguousError,
    PortNotFoundError,
    PortSelector,
    resolve_port,
)
from protocol.envelope import format_ts

log = logging.getLogger(__name__)

KIND = "serial"
READ_SIZE = 4096
PARITIES = {
    "none": serial.PARITY_NONE,
    "even": serial.PARITY_EVEN,
    "odd": serial.PARITY_ODD,
    "mark": serial.PARITY_MARK,
    "space": serial.PARITY_SPACE,
}
# open() failing with these means the device went away between finding and opening it.
_GONE = (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO)


def _usb_id(value: Any) -> Any:
    """A USB id as lsusb shows it ("05e0"); "0x05E0" is accepted and normalised."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            f'write USB ids as 4 hex digits in quotes, as lsusb shows them (e.g. "{value:04x}" '
            f"if {value} was meant as hex)"
        )
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("0x")
        if len(text) != 4 or any(char not in "0123456789abcdef" for char in text):
            raise ValueError(f'{value!r} is not a USB id: 4 hex digits, e.g. "05e0"')
        return text
    return value


UsbId = Annotated[str, BeforeValidator(_usb_id)]


def _stop_bits(value: int | float) -> int | float:
    """1, 1.5 or 2 (a typing.Literal cannot hold 1.5)."""
    if value not in (1, 1.5, 2):
        raise ValueError(f"stopbits is 1, 1.5 or 2, not {value}")
    return value


StopBits = Annotated[int | float, AfterValidator(_stop_bits)]


class SerialScannerConfig(BaseModel):
    """``[stations.scanner]`` with ``kind = "serial"``: which port, and its line settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["serial"]
    # Exactly one way to name the device: a path, a /dev/serial/by-id link, or USB ids.
    path: str | None = Field(default=None, min_length=1)
    by_id: str | None = Field(default=None, min_length=1)
    vid: UsbId | None = None
    pid: UsbId | None = None
    serial_number: str | None = Field(default=None, min_length=1)
    baudrate: int = Field(default=9600, ge=50, le=4_000_000)
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["none", "even", "odd", "mark", "space"] = "none"
    stopbits: StopBits = 1
    terminator: Terminator = "cr"
    # With terminator "none" a scan ends after this much silence.
    inter_char_timeout_ms: int = Field(default=50, ge=1, le=5000)
    # What the scanner puts around each scan, as text with escapes ("\x02"); removed when present.
    prefix: str = ""
    suffix: str = ""
    rtscts: bool = False
    xonxoff: bool = False

    @field_validator("prefix", "suffix")
    @classmethod
    def _escapes_parse(cls, text: str) -> str:
        parse_escapes(text)  # raises ValueError naming the bad escape
        return text

    @model_validator(mode="after")
    def _one_device(self) -> "SerialScannerConfig":
        named = [name for name in ("path", "by_id", "vid") if getattr(self, name) is not None]
        if self.pid is not None and self.vid is None:
            named.append("pid")
        if len(named) != 1:
            found = f"found {' and '.join(named)}" if named else "found none"
            raise ValueError(
                'a serial scanner names its device in exactly one way: path = "/dev/ttyUSB0", '
                f'by_id = "/dev/serial/by-id/...", or vid and pid ({found})'
            )
        if (self.vid is None) != (self.pid is None):
            raise ValueError("vid and pid go together: set both (as lsusb shows them)")
        if self.serial_number is not None and self.vid is None:
            raise ValueError("serial_number only narrows a scanner named by vid and pid")
        return self

    def selector(self) -> PortSelector:
        """How to find the port, for serial_ports.resolve_port."""
        return PortSelector(
            path=self.path,
            by_id=self.by_id,
            vid=None if self.vid is None else int(self.vid, 16),
            pid=None if self.pid is None else int(self.pid, 16),
            serial_number=self.serial_number,
        )

    def framer(self) -> Framer:
        """A fresh framer with this scanner's terminator, prefix and suffix."""
        return Framer(
            self.terminator,
            prefix=parse_escapes(self.prefix),
            suffix=parse_escapes(self.suffix),
            inter_char_timeout=self.inter_char_timeout_ms / 1000,
        )


class SerialScanner:
    """Reads one serial scanner until cancelled, reopening it whenever it comes back."""

    kind = KIND

    def __init__(
        self,
        config: SerialScannerConfig,
        *,
        comports: Comports = list_ports.comports,
        retry_initial: float = 0.25,
        retry_max: float = 2.0,
        watch_interval: float = 1.0,
    ) -> None:
        self.config = config
        self.selector = config.selector()
        self._comports = comports
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        # How often an idle port checks that its path still names the device it opened.
        self.watch_interval = watch_interval
        self.state = DriverState(kind=KIND, status="waiting", device=self.selector.describe())
        self._on_state: StateSink | None = None

    async def run(self, on_scan: ScanSink, on_state: StateSink) -> None:
        """Reads scans into ``on_scan`` (awaited, in order) and reports every state change."""
        self._on_state = on_state
        delay = self.retry_initial
        try:
            while True:
                opened = self._connect()
                if opened is None:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.retry_max)
                    continue
                port, device = opened
                delay = self.retry_initial
                try:
                    reason = await self._read(port, device, on_scan)
                finally:
                    _close(port)
                log.warning("serial scanner %s: %s; waiting for it to come back", device, reason)
                self._report("waiting", device, reason)
                await asyncio.sleep(delay)
        finally:
            self._report("stopped", self.state.device, None)

    def _connect(self) -> tuple[serial.Serial, str] | None:
        """The open port and its device path, or None after reporting why not."""
        try:
            device = resolve_port(self.selector, self._comports)
        except PortNotFoundError as err:
            self._report("waiting", self.selector.describe(), str(err))
            return None
        except PortAmbiguousError as err:
            self._report("error", self.selector.describe(), str(err))
            return None
        try:
            port = self._open(device)
        except (OSError, termios.error, ValueError) as err:  # SerialException is an OSError
            status, reason = _open_failure(device, err)
            self._report(status, device, reason)
            return None
        log.info("serial scanner %s: connected (%s)", device, self._settings())
        self._report("connected", device, None)
        return port, device

    def _open(self, device: str) -> serial.Serial:
        """pyserial port with this scanner's settings, open, non-blocking, ours alone."""
        config = self.config
        port = serial.Serial()  # no port given: configured first, opened below
        port.port = device
        port.baudrate = config.baudrate
        port.bytesize = config.bytesize
        port.parity = PARITIES[config.parity]
        port.stopbits = config.stopbits
        port.rtscts = config.rtscts
        port.xonxoff = config.xonxoff
        port.timeout = 0
        # flock: a second reader (another edge, a terminal program) would steal half the scans.
        port.exclusive = True
        port.open()
        return port

    async def _read(self, port: serial.Serial, device: str, on_scan: ScanSink) -> str:
        """Reads until the device goes away; returns why it did."""
        loop = asyncio.get_running_loop()
        fd = port.fileno()
        watched = self._watched_path(device)
        framer = self.config.framer()
        last_data = loop.time()
        next_watch = last_data + self.watch_interval
        while True:
            deadline = next_watch
            if framer.flush_after is not None:
                deadline = min(deadline, last_data + framer.flush_after)
            readable = await _wait_readable(fd, max(0.0, deadline - loop.time()))
            if readable:
                try:
                    data = os.read(fd, READ_SIZE)
                except BlockingIOError:
                    data = None
                except OSError as err:
                    return _gone(device, framer, f"read failed: {err.strerror or err}")
                if data == b"":
                    return _gone(device, framer, "the port was closed (end of file)")
                if data:
                    last_data = loop.time()
                    for scan in framer.feed(data):
                        await on_scan(scan)
            now = loop.time()
            if framer.flush_after is not None and now - last_data >= framer.flush_after:
                for scan in framer.flush():
                    await on_scan(scan)
            if now >= next_watch:
                vanished = _vanished(watched, fd)
                if vanished is not None:
                    return _gone(device, framer, vanished)
                next_watch = now + self.watch_interval

    def _watched_path(self, device: str) -> str:
        """The configured name of the port: when it vanishes or moves, the scanner is gone."""
        if self.selector.by_id is not None:
            return self.selector.by_id_path
        return device

    def _report(self, status: DriverStatus, device: str | None, reason: str | None) -> None:
        """Tells on_state about a change (and only a change)."""
        old = self.state
        if (old.status, old.device, old.reason) == (status, device, reason):
            return
        self.state = DriverState(
            kind=KIND,
            status=status,
            device=device,
            reason=reason,
            since=format_ts(datetime.now(UTC)),
        )
        if self._on_state is not None:
            self._on_state(self.state)

    def _settings(self) -> str:
        config = self.config
        return (
            f"{config.baudrate} {config.bytesize}{config.parity[0].upper()}{config.stopbits}, "
            f"terminator {config.terminator}"
        )


async def _wait_readable(fd: int, timeout: float) -> bool:
    """True when ``fd`` has something to read (data, EOF or an error) within ``timeout``."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, _set_ready, ready)
    try:
        async with asyncio.timeout(timeout):
            await ready
    except TimeoutError:
        return False
    finally:
        # Only registered while awaited: an unplugged port's fd stays "readable" forever, and
        # left in the selector it would wake the loop in a tight spin.
        loop.remove_reader(fd)
    return True


def _set_ready(ready: "asyncio.Future[None]") -> None:
    if not ready.done():
        ready.set_result(None)


def _gone(device: str, framer: Framer, reason: str) -> str:
    """Drops a partial scan (its rest will never come) and says so; returns the reason."""
    partial = framer.discard()
    if partial:
        log.warning(
            "serial scanner %s went away in the middle of a scan: dropped %d bytes %r; "
            "scan that label again",
            device,
            len(partial),
            partial,
        )
    return f"device gone: {reason}"


def _vanished(path: str, fd: int) -> str | None:
    """Why ``path`` no longer names the open device, or None when it still does."""
    try:
        now = os.stat(path).st_rdev
    except FileNotFoundError:
        return f"{path} no longer exists"
    except OSError as err:
        return f"cannot check {path}: {err.strerror or err}"
    if now != os.fstat(fd).st_rdev:
        return f"{path} now names another device"
    return None


def _close(port: serial.Serial) -> None:
    # A port whose device vanished may refuse even to close; it is gone either way.
    with contextlib.suppress(OSError):
        port.close()


def _open_failure(device: str, err: Exception) -> tuple[DriverStatus, str]:
    """The state an open() failure puts the scanner in, and the reason an operator can act on."""
    code = getattr(err, "errno", None)
    if code in _GONE:
        return "waiting", f"{device} went away while being opened: {err}"
    if code in (errno.EACCES, errno.EPERM):
        return "error", (
            f"permission denied opening {device}: add the edge's user to the group that owns "
            f"it (usually dialout) or add a udev rule ({err})"
        )
    if code in (errno.EAGAIN, errno.EBUSY):
        return "error", f"{device} is in use by another program; close it there ({err})"
    if isinstance(err, ValueError):
        return "error", f"{device} refused the settings: {err}"
    return "error", f"cannot open {device}: {err}"

"""The keyboard-wedge scanner driver: a USB scanner that types, read through evdev (no X11).

It finds its device by name, by a /dev/input/by-id link or by USB vendor:product id, grabs it
so scans do not also land on the console, reads it through the event loop, and follows it
being unplugged and plugged back in without a restart. Hot-plug is found by polling the
device list every ``poll_interval_seconds`` (pyudev is not a dependency; one listing a second
costs nothing). evdev itself is imported only when a driver is built, so an edge without
evdev installed still reads configs that name other scanner kinds.
"""

import asyncio
import contextlib
import errno
import fnmatch
import glob
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.barcodes.rules import check_gs_substitute
from edge.errors import ScannerError
from edge.scanners.base import DriverState, DriverStatus, ScanSink, StateSink

if TYPE_CHECKING:
    from edge.scanners.wedge_decoder import GsSetting

LayoutName = Literal["us", "uk", "de", "fr", "tr"]
_HEX_ID = r"^(0x)?[0-9a-fA-F]{1,4}$"


# The links udev makes for each input device, named after its vendor, model and serial.
BY_ID_DIR = "/dev/input/by-id"


class WedgeScannerConfig(BaseModel):
    """``[stations.scanner]`` with ``kind = "evdev"``: which device, and how it types.

    Name the device one way: ``name`` (``InputDevice.name``, exact or a glob such as
    "Honeywell*"), ``by_id`` (a /dev/input/by-id/... link), or ``vid`` and ``pid`` (hex USB
    ids). ``layout`` is the keyboard layout the *scanner* is set to; ``gs`` how it types the
    GS1 separator beyond Alt+0029 and Ctrl+] ("alt-code", "key:KEY_F8", "substitute:|").
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["evdev"]
    name: str | None = Field(default=None, min_length=1)
    by_id: str | None = Field(default=None, pattern=r"^\S+$")
    vid: str | None = Field(default=None, pattern=_HEX_ID)
    pid: str | None = Field(default=None, pattern=_HEX_ID)
    layout: LayoutName = "us"
    terminator: Literal["enter", "tab"] = "enter"
    gs: str = "alt-code"
    grab: bool = True
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)

    @field_validator("vid", "pid")
    @classmethod
    def _canonical_hex(cls, value: str | None) -> str | None:
        # One spelling ("0c2e"), so a written config reads back equal.
        return None if value is None else f"{int(value, 16):04x}"

    @field_validator("by_id")
    @classmethod
    def _by_id_path(cls, value: str | None) -> str | None:
        # A bare link name, as `ls /dev/input/by-id` shows it, is read in that directory.
        if value is None or value.startswith("/"):
            return value
        return f"{BY_ID_DIR}/{value}"

    @field_validator("gs")
    @classmethod
    def _known_gs(cls, value: str) -> str:
        if value.startswith("substitute:"):
            char = value.removeprefix("substitute:")
            try:
                check_gs_substitute(char)
            except ValueError as err:
                raise ValueError(f"gs = {value!r}: {err}".replace("gs_substitute ", "")) from None
        gs_setting(value)
        return value

    @model_validator(mode="after")
    def _one_way_to_find_it(self) -> "WedgeScannerConfig":
        if (self.vid is None) != (self.pid is None):
            raise ValueError("give both vid and pid (hex USB ids, as `lsusb` shows them)")
        ways = [self.name is not None, self.by_id is not None, self.vid is not None]
        if sum(ways) != 1:
            raise ValueError(
                "an evdev scanner is found one way: set exactly one of name, by_id, or "
                "vid with pid (`python -m evdev.evtest` lists the devices and their names)"
            )
        return self

    def describe(self) -> str:
        """How the device is looked for, for states and messages ("named 'X'")."""
        if self.name is not None:
            return f"named {self.name!r}"
        if self.by_id is not None:
            return f"at {self.by_id}"
        return f"with USB id {self.vid}:{self.pid}"


def gs_setting(spec: str) -> "GsSetting":
    """The decoder's GsSetting for ``spec``; ValueError when it is wrong or evdev is missing."""
    try:
        from edge.scanners.wedge_decoder import GsSetting
    except ImportError as err:
        raise ValueError(_NO_EVDEV) from err
    return GsSetting.parse(spec)


_NO_EVDEV = (
    "scanner kind 'evdev' needs the evdev package (Linux only): pip install 'ioe-gateway[hw]'"
)


class InputDeviceLike(Protocol):
    """What the driver uses of an ``evdev.InputDevice`` (tests hand in other real objects)."""

    fd: int
    name: str
    path: Any
    info: Any  # .vendor, .product

    def read(self) -> Iterable[Any]: ...
    def grab(self) -> None: ...
    def ungrab(self) -> None: ...
    def close(self) -> None: ...


ListDevices = Callable[[], Iterable[str]]
OpenDevice = Callable[[str], InputDeviceLike]


def event_device_paths() -> list[str]:
    """Every /dev/input/event*, readable or not.

    Not ``evdev.list_devices()``: it hides the unreadable ones, and with them the hint that
    the edge's user is not in the 'input' group.
    """
    return sorted(glob.glob("/dev/input/event*"))


class WedgeScanner:
    """Reads one keyboard-wedge scanner until cancelled, across unplugs and errors."""

    kind = "evdev"

    def __init__(
        self,
        config: WedgeScannerConfig,
        *,
        list_devices: ListDevices | None = None,
        open_device: OpenDevice | None = None,
    ) -> None:
        try:
            import evdev

            from edge.scanners.keymaps import layout
            from edge.scanners.wedge_decoder import KeyDecoder
        except ImportError as err:
            raise ScannerError(_NO_EVDEV) from err
        self.config = config
        self.decoder = KeyDecoder(
            layout(config.layout), terminator=config.terminator, gs=gs_setting(config.gs)
        )
        # Keys a scanner ends its scans with: a node of the same USB device without them
        # (its "Consumer Control" or "System Control" part) is not the one that types.
        codes = evdev.ecodes
        self._terminator_keys = frozenset({codes.KEY_ENTER, codes.KEY_KPENTER, codes.KEY_TAB})
        self._ev_key = codes.EV_KEY
        self._list_devices = list_devices or event_device_paths
        # Read-only: the driver never writes to the device, and probing others for their
        # name must not wake their firmware (evdev's read-write open can re-assert LEDs).
        self._open_device: OpenDevice = open_device or (
            lambda path: evdev.InputDevice(path, readonly=True)
        )
        self._last: tuple[DriverStatus, str | None, str | None] | None = None
        self._on_state: StateSink = lambda state: None
        self.state: DriverState | None = None

    async def run(self, on_scan: ScanSink, on_state: StateSink) -> None:
        """Find, grab and read the scanner for ever; each scan awaited before the next."""
        self._on_state = on_state
        try:
            while True:
                device = await self._wait_for_device()
                try:
                    await self._read(device, on_scan)
                finally:
                    self.decoder.reset()  # no half scan survives the device
                    _release(device, ungrab=self.config.grab)
                await asyncio.sleep(self.config.poll_interval_seconds)
        finally:
            self._report("stopped")

    async def _wait_for_device(self) -> InputDeviceLike:
        """Look for the device every poll interval until it is there and grabbed."""
        while True:
            device, reason = self._lookup()
            if device is None:
                self._report("waiting", reason=reason)
            elif (problem := self._grab(device)) is not None:
                _release(device, ungrab=False)
                self._report("error", device=_label(device), reason=problem)
            else:
                self._report("connected", device=_label(device))
                return device
            await asyncio.sleep(self.config.poll_interval_seconds)

    def _lookup(self) -> tuple[InputDeviceLike | None, str]:
        """The first listed device that matches, or None and why nothing did."""
        config = self.config
        target = None
        if config.by_id is not None:
            if not os.path.exists(config.by_id):
                return None, f"no input device {config.describe()} (is the scanner plugged in?)"
            target = os.path.realpath(config.by_id)
        denied = 0
        for path in self._list_devices():
            if target is not None and os.path.realpath(path) != target:
                continue
            try:
                device = self._open_device(path)
            except PermissionError:
                denied += 1
                continue
            except OSError:
                continue  # gone between the listing and the open
            if self._matches(device):
                return device, ""
            _release(device, ungrab=False)
        reason = f"no input device {config.describe()}"
        if denied:
            reason += (
                f"; {denied} input device(s) could not be opened (permission denied): "
                "add the edge's user to the 'input' group"
            )
        return None, reason

    def _matches(self, device: InputDeviceLike) -> bool:
        config = self.config
        if not self._types_keys(device):
            return False
        if config.name is not None:
            return fnmatch.fnmatchcase(device.name, config.name)
        if config.vid is not None and config.pid is not None:
            return (device.info.vendor, device.info.product) == (
                int(config.vid, 16),
                int(config.pid, 16),
            )
        return True  # by_id: the path already matched

    def _types_keys(self, device: InputDeviceLike) -> bool:
        """Whether the device has a terminator key (objects without capabilities: assumed)."""
        capabilities = getattr(device, "capabilities", None)
        if capabilities is None:
            return True
        keys = capabilities().get(self._ev_key, [])
        return not self._terminator_keys.isdisjoint(keys)

    def _grab(self, device: InputDeviceLike) -> str | None:
        """None when the device is ours alone (or grab = false), else why not."""
        if not self.config.grab:
            return None
        try:
            device.grab()
        except OSError as err:
            if err.errno == errno.EBUSY:
                return (
                    f"cannot grab {_label(device)}: another program holds it (EBUSY); stop "
                    "that program (another edge agent, a kiosk reading it) or set grab = false"
                )
            return f"cannot grab {_label(device)}: {err.strerror or err}"
        return None

    async def _read(self, device: InputDeviceLike, on_scan: ScanSink) -> None:
        """Read events until the device goes away or fails; returns having said which."""
        loop = asyncio.get_running_loop()
        while True:
            await _readable(loop, device.fd)
            try:
                events = list(device.read())
            except BlockingIOError:
                continue  # woken with nothing to read
            except OSError as err:
                if err.errno == errno.ENODEV:
                    events = []
                else:
                    self._report(
                        "error", device=_label(device), reason=f"reading failed: {err.strerror}"
                    )
                    return
            if not events:  # ENODEV, or end of file: the device is gone
                self._report(
                    "waiting",
                    reason=f"{_label(device)} was unplugged; waiting for a device "
                    f"{self.config.describe()}",
                )
                return
            for event in events:
                scan = self.decoder.feed(event)
                if scan is not None:
                    await on_scan(scan)

    def _report(
        self, status: DriverStatus, *, device: str | None = None, reason: str | None = None
    ) -> None:
        """Tell on_state, only when something changed."""
        if self._last == (status, device, reason):
            return
        self._last = (status, device, reason)
        self.state = DriverState(
            kind=self.kind,
            status=status,
            device=device,
            reason=reason,
            since=datetime.now(UTC).isoformat(timespec="milliseconds"),
        )
        self._on_state(self.state)


async def _readable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    """Wait until ``fd`` can be read; the reader is gone again when this returns.

    Registered only while waiting, so a dead descriptor is never left in the selector
    (where it would be "ready" for ever and spin a CPU).
    """
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _release(device: InputDeviceLike, *, ungrab: bool) -> None:
    """Ungrab and close, ignoring the errors of a device that is already gone."""
    if ungrab:
        with contextlib.suppress(OSError):
            device.ungrab()
    with contextlib.suppress(OSError):
        device.close()


def _label(device: InputDeviceLike) -> str:
    path = os.fsdecode(device.path)
    return f"{path} ({device.name!r})"

"""WedgeScanner end to end: finding, grabbing, reading, unplug and replug, and its states.

With /dev/uinput the kernel makes a real virtual keyboard. Without it (containers, CI), the
driver's own code path still runs over real file descriptors: each "device" is a pipe read by
evdev's own event parsing (`EventIO.read`, `struct input_event` bytes), listed and opened by
functions handed to the driver the way it takes `evdev.list_devices` and `InputDevice`.
"""

import asyncio
import contextlib
import errno
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from evdev import DeviceInfo
from evdev import ecodes as e
from evdev.eventio_async import EventIO

from edge.scanners.base import DriverState, RawScan
from edge.scanners.wedge import WedgeScanner, WedgeScannerConfig
from tests.edge.scanners.keys import SHIFT, digits, enter, packed, taps

HONEYWELL = "Honeywell Imaging & Mobility 1900"
POLL = 0.05


class PipeDevice(EventIO):
    """An input device over a pipe: the driver reads it with evdev's own event parsing."""

    def __init__(self, path: str, spec: "Spec") -> None:
        self.fd, self.write_fd = os.pipe()
        os.set_blocking(self.fd, False)
        self.path, self.name, self.spec = path, spec.name, spec
        self.info = DeviceInfo(bustype=0x03, vendor=spec.vendor, product=spec.product, version=1)
        self.grabbed = self.closed = False

    def read(self) -> Iterator:  # type: ignore[override]
        batch = list(super().read())  # evdev's device_read_many on our descriptor
        if not batch and self.spec.gone_as == "enodev":
            # What the kernel answers once the USB device is gone.
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        return iter(batch)

    def capabilities(self) -> dict[int, list[int]]:
        return {e.EV_SYN: [e.SYN_REPORT], e.EV_KEY: self.spec.keys}

    def grab(self) -> None:
        if self.spec.busy:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.fd)

    def unplug(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.write_fd)


@dataclass
class Spec:
    name: str
    vendor: int
    product: int
    busy: bool = False
    gone_as: str = "eof"
    keys: list[int] = field(default_factory=lambda: list(range(e.KEY_ESC, e.KEY_KPDOT + 1)))


class Bus:
    """The machine's input devices as the driver sees them: listed, opened, typed into."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.plugged: dict[str, Spec] = {}
        self.opened: list[PipeDevice] = []

    def plug(self, node: str, spec: Spec) -> str:
        path = str(self.root / node)
        Path(path).touch()
        self.plugged[path] = spec
        return path

    def unplug(self, path: str) -> None:
        del self.plugged[path]
        Path(path).unlink()
        for device in self.opened:
            if device.path == path:
                device.unplug()

    def list_devices(self) -> list[str]:
        return sorted(self.plugged)

    def open(self, path: str) -> PipeDevice:
        if path not in self.plugged:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        device = PipeDevice(path, self.plugged[path])
        self.opened.append(device)
        return device

    def current(self, path: str) -> PipeDevice:
        [device] = [d for d in self.opened if d.path == path and not d.closed]
        return device

    def type(self, path: str, events: list) -> None:
        os.write(self.current(path).write_fd, packed(events))

    def close_all(self) -> None:
        for device in self.opened:
            device.unplug()
            device.close()


class Station:
    """What the edge gives the driver: a scan sink that takes its time, and a state sink."""

    def __init__(self) -> None:
        self.scans: asyncio.Queue[RawScan] = asyncio.Queue()
        self.states: asyncio.Queue[DriverState] = asyncio.Queue()

    async def on_scan(self, scan: RawScan) -> None:
        await asyncio.sleep(0.01)  # the queue's commit: the driver must wait for it
        self.scans.put_nowait(scan)

    def on_state(self, state: DriverState) -> None:
        self.states.put_nowait(state)

    async def state(self) -> DriverState:
        async with asyncio.timeout(5):
            return await self.states.get()

    async def scan(self) -> str:
        async with asyncio.timeout(5):
            return (await self.scans.get()).data


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[Bus]:
    bus = Bus(tmp_path)
    bus.plug("event0", Spec("AT Translated Set 2 keyboard", 0x0001, 0x0001))
    yield bus
    bus.close_all()


@contextlib.asynccontextmanager
async def running(bus: Bus, **config: object) -> AsyncIterator[tuple[Station, WedgeScanner]]:
    settings = {"kind": "evdev", "poll_interval_seconds": POLL, **config}
    scanner = WedgeScanner(
        WedgeScannerConfig.model_validate(settings),
        list_devices=bus.list_devices,
        open_device=bus.open,
    )
    station = Station()
    task = asyncio.create_task(scanner.run(station.on_scan, station.on_state))
    try:
        yield station, scanner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert (await station.state()).status == "stopped"


def _scan(text: str) -> list:
    return digits(text) + enter()


@pytest.mark.parametrize(
    "lookup",
    [
        {"name": HONEYWELL},
        {"name": "Honeywell*"},
        {"vid": "0c2e", "pid": "0B61"},
        {"by_id": "BY_ID"},
    ],
)
async def test_finds_grabs_and_reads_scans_in_order(
    bus: Bus, tmp_path: Path, lookup: dict[str, str]
) -> None:
    scanner_path = bus.plug("event3", Spec(HONEYWELL, 0x0C2E, 0x0B61))
    if lookup.get("by_id") == "BY_ID":
        link = tmp_path / "by-id" / "usb-Honeywell_1900-event-kbd"
        link.parent.mkdir()
        link.symlink_to(scanner_path)
        lookup = {"by_id": str(link)}
    async with running(bus, **lookup) as (station, _):
        connected = await station.state()
        assert (connected.status, connected.device) == (
            "connected",
            f"{scanner_path} ({HONEYWELL!r})",
        )
        device = bus.current(scanner_path)
        assert device.grabbed
        assert [d.path for d in bus.opened if not d.closed] == [scanner_path]  # others closed
        bus.type(scanner_path, _scan("111") + _scan("222") + _scan("333"))
        assert [await station.scan() for _ in range(3)] == ["111", "222", "333"]
    assert device.closed and not device.grabbed


async def test_skips_a_node_of_the_same_usb_device_that_cannot_type(bus: Bus) -> None:
    # Scanners often add a "Consumer Control" node with the same USB ids and no Enter key.
    consumer = Spec(f"{HONEYWELL} Consumer Control", 0x0C2E, 0x0B61, keys=[e.KEY_VOLUMEUP])
    bus.plug("event2", consumer)
    path = bus.plug("event3", Spec(HONEYWELL, 0x0C2E, 0x0B61))
    async with running(bus, vid="0c2e", pid="0b61") as (station, _):
        assert (await station.state()).device == f"{path} ({HONEYWELL!r})"


async def test_layout_terminator_and_gs_come_from_the_config(bus: Bus) -> None:
    path = bus.plug("event3", Spec(HONEYWELL, 0x0C2E, 0x0B61))
    async with running(bus, name=HONEYWELL, layout="de", terminator="tab", gs="substitute:|") as (
        station,
        _,
    ):
        assert (await station.state()).status == "connected"
        events = taps((SHIFT, e.KEY_Y), e.KEY_SLASH) + digits("1") + taps(e.KEY_TAB)
        bus.type(path, events)
        assert await station.scan() == "Z-1"


async def test_waits_for_a_device_that_is_not_there_then_takes_it(bus: Bus) -> None:
    async with running(bus, name=HONEYWELL) as (station, _):
        waiting = await station.state()
        assert (waiting.status, waiting.reason) == (
            "waiting",
            f"no input device named {HONEYWELL!r}",
        )
        path = bus.plug("event5", Spec(HONEYWELL, 0x0C2E, 0x0B61))
        assert (await station.state()).status == "connected"
        bus.type(path, _scan("42"))
        assert await station.scan() == "42"


async def test_a_device_another_program_holds_is_an_error_until_it_lets_go(bus: Bus) -> None:
    spec = Spec(HONEYWELL, 0x0C2E, 0x0B61, busy=True)
    path = bus.plug("event3", spec)
    async with running(bus, name=HONEYWELL) as (station, _):
        error = await station.state()
        assert error.status == "error"
        assert error.reason is not None and "another program holds it (EBUSY)" in error.reason
        assert all(d.closed for d in bus.opened)  # not kept open while unusable
        spec.busy = False
        assert (await station.state()).status == "connected"
        bus.type(path, _scan("7"))
        assert await station.scan() == "7"


@pytest.mark.parametrize("gone_as", ["eof", "enodev"])
async def test_unplug_waits_without_spinning_and_replug_resumes(bus: Bus, gone_as: str) -> None:
    path = bus.plug("event3", Spec(HONEYWELL, 0x0C2E, 0x0B61, gone_as=gone_as))
    async with running(bus, name=HONEYWELL) as (station, scanner):
        assert (await station.state()).status == "connected"
        first = bus.current(path)
        bus.type(path, _scan("1") + digits("99"))  # ... and half a scan when the cable goes
        assert await station.scan() == "1"
        await asyncio.sleep(0.05)
        bus.unplug(path)
        gone = await station.state()
        assert gone.status == "waiting" and gone.reason and "was unplugged" in gone.reason
        assert (await station.state()).reason == f"no input device named {HONEYWELL!r}"
        assert first.closed

        cpu = time.process_time()
        await asyncio.sleep(1.0)
        assert time.process_time() - cpu < 0.2  # polls, never spins on a dead descriptor

        bus.plug("event3", Spec(HONEYWELL, 0x0C2E, 0x0B61, gone_as=gone_as))
        assert (await station.state()).status == "connected"
        bus.type(path, _scan("2"))
        assert await station.scan() == "2"  # the half scan did not survive the unplug
        assert scanner.state is not None and scanner.state.status == "connected"


UINPUT = Path("/dev/uinput")


def _uinput_problem() -> str | None:
    if not UINPUT.exists():
        return f"no {UINPUT} on this machine: the kernel's uinput module is not available"
    if not os.access(UINPUT, os.W_OK):
        return f"{UINPUT} is not writable by this user (root or the 'input' group can)"
    return None


@pytest.mark.skipif(_uinput_problem() is not None, reason=str(_uinput_problem()))
async def test_a_real_virtual_keyboard_through_the_kernel() -> None:
    from evdev import UInput

    keys = [*range(e.KEY_ESC, e.KEY_KPDOT + 1)]
    name = f"IOE test scanner {os.getpid()}"
    with UInput({e.EV_KEY: keys}, name=name) as keyboard:
        scanner = WedgeScanner(
            WedgeScannerConfig(kind="evdev", name=name, poll_interval_seconds=POLL)
        )
        station = Station()
        task = asyncio.create_task(scanner.run(station.on_scan, station.on_state))
        try:
            state = await station.state()
            while state.status == "waiting":  # udev may take a moment to make the node
                state = await station.state()
            assert state.status == "connected", state
            for event in _scan("0123"):
                if event.type != e.EV_MSC:
                    keyboard.write_event(event)
            keyboard.syn()
            assert await station.scan() == "0123"
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

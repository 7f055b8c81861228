"""Which device file a configured serial scanner is today.

USB serial ports are renumbered on every re-plug (ttyUSB0 comes back as ttyUSB1, ttyACM0 as
ttyACM1), so a scanner can also be named by a stable /dev/serial/by-id link or by its USB
vendor and product id (and serial number), and is looked up again every time it is opened.
"""

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from edge.errors import ScannerError

# The by-id links udev makes for each USB serial device, named after vendor, model and serial.
BY_ID_DIR = "/dev/serial/by-id"

Comports = Callable[[], Sequence[ListPortInfo]]


class PortNotFoundError(ScannerError):
    """No device matches the configuration now (unplugged, not yet enumerated)."""


class PortAmbiguousError(ScannerError):
    """Several devices match and nothing in the configuration tells them apart."""


@dataclass(frozen=True)
class PortSelector:
    """How a scanner's port is named: a path, a by-id link, or USB ids (one of the three)."""

    path: str | None = None
    by_id: str | None = None
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None

    def __post_init__(self) -> None:
        named = [self.path is not None, self.by_id is not None, self.vid is not None]
        if sum(named) != 1 or (self.vid is None) != (self.pid is None):
            raise ValueError("name the port by exactly one of: path, by_id, or vid and pid")
        if self.serial_number is not None and self.vid is None:
            raise ValueError("serial_number only narrows a port named by vid and pid")

    def describe(self) -> str:
        """The configuration as an operator would look for it ("vid=05e0 pid=1200 serial=S1")."""
        if self.path is not None:
            return self.path
        if self.by_id is not None:
            return self.by_id_path
        text = f"vid={self.vid:04x} pid={self.pid:04x}"
        return text + (f" serial={self.serial_number}" if self.serial_number is not None else "")

    @property
    def by_id_path(self) -> str:
        """The by-id link as a path: a bare name is looked for in /dev/serial/by-id."""
        assert self.by_id is not None
        return self.by_id if "/" in self.by_id else os.path.join(BY_ID_DIR, self.by_id)


def resolve_port(selector: PortSelector, comports: Comports = list_ports.comports) -> str:
    """The device path to open now; PortNotFoundError or PortAmbiguousError says why not."""
    if selector.path is not None:
        if not os.path.exists(selector.path):  # also false for a dangling link
            raise PortNotFoundError(f"no device at {selector.path}")
        return selector.path
    if selector.by_id is not None:
        link = selector.by_id_path
        if not os.path.exists(link):
            raise PortNotFoundError(f"no device at {link}")
        return os.path.realpath(link)
    return _by_usb_id(selector, comports())


def _by_usb_id(selector: PortSelector, ports: Sequence[ListPortInfo]) -> str:
    """The one listed port with the selector's vid, pid (and serial number)."""
    matches = sorted(
        port
        for port in ports
        if port.vid == selector.vid
        and port.pid == selector.pid
        and (selector.serial_number is None or port.serial_number == selector.serial_number)
    )
    if not matches:
        raise PortNotFoundError(f"no port matches {selector.describe()}")
    if len(matches) > 1:
        listed = ", ".join(
            f"{port.device} (serial {port.serial_number or 'none'})" for port in matches
        )
        serials = {port.serial_number for port in matches}
        if selector.serial_number is None and None not in serials and len(serials) == len(matches):
            advice = "set serial_number to the scanner's"
        else:
            advice = (
                "they cannot be told apart by serial number: name the port by path, or by its "
                "/dev/serial/by-path link"
            )
        raise PortAmbiguousError(
            f"{len(matches)} ports match {selector.describe()}: {listed}; {advice}"
        )
    device: str = matches[0].device
    return device

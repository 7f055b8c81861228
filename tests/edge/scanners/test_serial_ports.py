"""Port resolution: by path, by a by-id link, by USB ids over a listed set of real port infos."""

import os
from pathlib import Path

import pytest
from serial.tools.list_ports_common import ListPortInfo

from edge.scanners.serial_ports import (
    PortAmbiguousError,
    PortNotFoundError,
    PortSelector,
    resolve_port,
)

VID, PID = 0x05E0, 0x1200


def usb_port(device: str, *, vid: int = VID, pid: int = PID, serial: str | None) -> ListPortInfo:
    """A port as pyserial lists a USB serial device."""
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial
    info.apply_usb_info()
    return info


def test_selector_describes_itself_as_configured() -> None:
    assert PortSelector(vid=VID, pid=PID, serial_number="S123").describe() == (
        "vid=05e0 pid=1200 serial=S123"
    )
    assert PortSelector(vid=VID, pid=PID).describe() == "vid=05e0 pid=1200"
    assert PortSelector(by_id="usb-Zebra_DS2208-if00").describe() == (
        "/dev/serial/by-id/usb-Zebra_DS2208-if00"
    )


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"path": "/dev/ttyUSB0", "vid": VID, "pid": PID},
        {"vid": VID},
        {"path": "/x", "serial_number": "S"},
    ],
)
def test_selector_needs_exactly_one_name(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PortSelector(**fields)  # type: ignore[arg-type]


def test_by_path(tmp_path: Path) -> None:
    device = tmp_path / "ttyUSB0"
    with pytest.raises(PortNotFoundError, match=f"no device at {device}"):
        resolve_port(PortSelector(path=str(device)))
    device.touch()
    assert resolve_port(PortSelector(path=str(device))) == str(device)


def test_by_id_link_is_resolved_each_time(tmp_path: Path) -> None:
    first, second, link = tmp_path / "ttyACM0", tmp_path / "ttyACM1", tmp_path / "usb-Scanner-if00"
    first.touch()
    second.touch()
    selector = PortSelector(by_id=str(link))
    with pytest.raises(PortNotFoundError, match="no device at"):
        resolve_port(selector)
    link.symlink_to(first)
    assert resolve_port(selector) == str(first)
    link.unlink()
    link.symlink_to(second)  # re-plugged: udev points the link at the new node
    assert resolve_port(selector) == str(second)
    os.unlink(second)  # a dangling link: the device is gone
    with pytest.raises(PortNotFoundError):
        resolve_port(selector)


def test_by_usb_id_finds_the_port_wherever_it_is() -> None:
    other = usb_port("/dev/ttyUSB0", vid=0x0403, pid=0x6001, serial="FT1")
    selector = PortSelector(vid=VID, pid=PID, serial_number="S123")
    ports = [other, usb_port("/dev/ttyACM0", serial="S123")]
    assert resolve_port(selector, lambda: ports) == "/dev/ttyACM0"
    replugged = [other, usb_port("/dev/ttyACM3", serial="S123")]
    assert resolve_port(selector, lambda: replugged) == "/dev/ttyACM3"


def test_serial_number_picks_one_of_two_alike() -> None:
    ports = [usb_port("/dev/ttyACM0", serial="S1"), usb_port("/dev/ttyACM1", serial="S2")]
    assert resolve_port(PortSelector(vid=VID, pid=PID, serial_number="S2"), lambda: ports) == (
        "/dev/ttyACM1"
    )
    with pytest.raises(PortAmbiguousError) as caught:
        resolve_port(PortSelector(vid=VID, pid=PID), lambda: ports)
    assert str(caught.value) == (
        "2 ports match vid=05e0 pid=1200: /dev/ttyACM0 (serial S1), /dev/ttyACM1 (serial S2); "
        "set serial_number to the scanner's"
    )


def test_two_devices_without_serial_numbers_are_an_error_naming_both() -> None:
    ports = [usb_port("/dev/ttyACM1", serial=None), usb_port("/dev/ttyACM0", serial=None)]
    with pytest.raises(PortAmbiguousError) as caught:
        resolve_port(PortSelector(vid=VID, pid=PID), lambda: ports)
    message = str(caught.value)
    assert message.startswith(
        "2 ports match vid=05e0 pid=1200: /dev/ttyACM0 (serial none), /dev/ttyACM1 (serial none)"
    )
    assert "cannot be told apart by serial number: name the port by path" in message


def test_no_match_names_what_was_looked_for() -> None:
    ports = [usb_port("/dev/ttyUSB0", vid=VID, pid=PID, serial="OTHER")]
    with pytest.raises(PortNotFoundError) as caught:
        resolve_port(PortSelector(vid=VID, pid=PID, serial_number="S123"), lambda: ports)
    assert str(caught.value) == "no port matches vid=05e0 pid=1200 serial=S123"
    with pytest.raises(PortNotFoundError):
        resolve_port(PortSelector(vid=VID, pid=PID), lambda: [])


def test_the_real_port_list_is_the_default() -> None:
    # Whatever this machine has, the real comports() answers without error.
    with pytest.raises(PortNotFoundError, match="no port matches vid=fffe pid=fffe"):
        resolve_port(PortSelector(vid=0xFFFE, pid=0xFFFE, serial_number="no-such-scanner"))

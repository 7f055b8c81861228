"""`[stations.scanner]` with kind = "serial": defaults, clear refusals, and a TOML round trip."""

from pathlib import Path

import pytest

from edge.config import load_config, render_config, write_config
from edge.errors import ConfigError
from edge.scanners.serial import SerialScannerConfig
from edge.scanners.serial_ports import PortSelector

HEAD = """
site = "plant-1"
edge_id = "edge-07"
secret = "0123456789abcdef0123456789abcdef"

[[stations]]
name = "dock-1"
operator = "op-7"

[stations.scanner]
kind = "serial"
"""


def _load(tmp_path: Path, scanner: str) -> SerialScannerConfig:
    path = tmp_path / "edge.toml"
    path.write_text(HEAD + scanner)
    found = load_config(path, env={}).stations[0].scanner
    assert isinstance(found, SerialScannerConfig)
    return found


def test_defaults(tmp_path: Path) -> None:
    scanner = _load(tmp_path, 'path = "/dev/ttyUSB0"\n')
    assert scanner == SerialScannerConfig(
        kind="serial",
        path="/dev/ttyUSB0",
        baudrate=9600,
        bytesize=8,
        parity="none",
        stopbits=1,
        terminator="cr",
        inter_char_timeout_ms=50,
        prefix="",
        suffix="",
        rtscts=False,
        xonxoff=False,
    )
    assert scanner.selector() == PortSelector(path="/dev/ttyUSB0")


def test_usb_ids_as_lsusb_shows_them(tmp_path: Path) -> None:
    scanner = _load(tmp_path, 'vid = "05E0"\npid = "0x1200"\nserial_number = "S123"\n')
    assert (scanner.vid, scanner.pid) == ("05e0", "1200")
    assert scanner.selector() == PortSelector(vid=0x05E0, pid=0x1200, serial_number="S123")


def test_prefix_and_suffix_escapes(tmp_path: Path) -> None:
    # '\x02' as TOML literal text, or the character itself through TOML's own \u escape.
    scanner = _load(tmp_path, 'path = "/dev/ttyS0"\nprefix = \'\\x02\'\nsuffix = "\\u0003"\n')
    framer = scanner.framer()
    assert (framer.prefix, framer.suffix) == (b"\x02", b"\x03")


@pytest.mark.parametrize(
    "scanner, message",
    [
        ("", "stations[0].scanner: a serial scanner names its device in exactly one way"),
        (
            'path = "/dev/ttyUSB0"\nby_id = "usb-X"\n',
            'names its device in exactly one way: path = "/dev/ttyUSB0", by_id = '
            '"/dev/serial/by-id/...", or vid and pid (found path and by_id)',
        ),
        ('path = "/dev/ttyUSB0"\nvid = "05e0"\npid = "1200"\n', "(found path and vid)"),
        ('vid = "05e0"\n', "vid and pid go together"),
        ('pid = "1200"\n', "vid and pid go together"),
        ('path = "/dev/ttyUSB0"\nserial_number = "S1"\n', "serial_number only narrows"),
        ('vid = 1504\npid = "1200"\n', "scanner.vid: write USB ids as 4 hex digits in quotes"),
        ('vid = "5e0"\npid = "1200"\n', "scanner.vid: '5e0' is not a USB id"),
        ('path = "/dev/ttyS0"\nparity = "evn"\n', "stations[0].scanner.parity: Input should be"),
        ('path = "/dev/ttyS0"\nstopbits = 3\n', "stations[0].scanner.stopbits: stopbits is 1, 1.5"),
        ('path = "/dev/ttyS0"\nbytesize = 9\n', "stations[0].scanner.bytesize"),
        ('path = "/dev/ttyS0"\nbaudrate = 0\n', "stations[0].scanner.baudrate"),
        ('path = "/dev/ttyS0"\nterminator = "etx"\n', "stations[0].scanner.terminator"),
        ("path = \"/dev/ttyS0\"\nprefix = '\\q'\n", "scanner.prefix: '\\\\q': unknown escape"),
        ('path = "/dev/ttyS0"\nfollow = true\n', "scanner.follow: unknown field"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    tmp_path: Path, scanner: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, scanner)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "scanner",
    [
        'path = "/dev/ttyUSB0"\n',
        'by_id = "usb-Honeywell_1900-if00"\nterminator = "crlf"\n',
        'vid = "05e0"\npid = "1200"\nserial_number = "S 1\\"x"\nbaudrate = 115200\n'
        'bytesize = 7\nparity = "mark"\nstopbits = 1.5\nterminator = "none"\n'
        "inter_char_timeout_ms = 120\nprefix = '\\x02\\\\'\nsuffix = \"\\u0003\\r\"\n"
        "rtscts = true\nxonxoff = true\n",
    ],
)
def test_round_trip_through_toml(tmp_path: Path, scanner: str) -> None:
    config = load_config(_path(tmp_path, HEAD + scanner), env={})
    out = tmp_path / "written.toml"
    write_config(config, out)
    assert load_config(out, env={}) == config
    assert render_config(load_config(out, env={})) == out.read_text()


def _path(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(text)
    return path

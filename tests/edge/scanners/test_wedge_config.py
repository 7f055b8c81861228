"""`[stations.scanner]` with kind = "evdev": read from edge.toml, checked, written back."""

import tomllib
from pathlib import Path

import pytest

from edge.config import EdgeConfig, StationConfig, load_config, render_config
from edge.errors import ConfigError
from edge.scanners.keymaps import LAYOUTS
from edge.scanners.simulated import SimulatedScannerConfig
from edge.scanners.wedge import LayoutName, WedgeScannerConfig

HEAD = """
site = "plant-1"
edge_id = "edge-07"
secret = "0123456789abcdef0123456789abcdef"

[[stations]]
name = "pack-2"
operator = "op-113"

[stations.scanner]
"""


def test_the_config_offers_exactly_the_layouts_there_are_tables_for() -> None:
    assert LAYOUTS == LayoutName.__args__  # type: ignore[attr-defined]


def _load(tmp_path: Path, scanner: str) -> EdgeConfig:
    path = tmp_path / "edge.toml"
    path.write_text(HEAD + scanner)
    return load_config(path, env={})


def test_an_evdev_scanner_with_its_settings(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        'kind = "evdev"\nvid = "0x0C2E"\npid = "b61"\nlayout = "fr"\nterminator = "tab"\n'
        'gs = "key:KEY_LEFTCTRL+KEY_RIGHTBRACE"\ngrab = false\npoll_interval_seconds = 2.5\n',
    )
    assert config.stations[0].scanner == WedgeScannerConfig(
        kind="evdev",
        vid="0c2e",  # one spelling, so it writes back the same
        pid="0b61",
        layout="fr",
        terminator="tab",
        gs="key:KEY_LEFTCTRL+KEY_RIGHTBRACE",
        grab=False,
        poll_interval_seconds=2.5,
    )


def test_defaults_and_a_scanner_table_without_kind_is_the_simulated_one(tmp_path: Path) -> None:
    scanner = _load(tmp_path, 'kind = "evdev"\nname = "Honeywell*"\n').stations[0].scanner
    assert isinstance(scanner, WedgeScannerConfig)
    assert (scanner.layout, scanner.terminator, scanner.gs, scanner.grab) == (
        "us",
        "enter",
        "alt-code",
        True,
    )
    assert scanner.poll_interval_seconds == 1.0
    assert _load(tmp_path, 'path = "-"\n').stations[0].scanner == SimulatedScannerConfig(path="-")


@pytest.mark.parametrize(
    "scanner, message",
    [
        ('kind = "evdev"\n', "stations[0].scanner: an evdev scanner is found one way"),
        ('kind = "evdev"\nname = "x"\nvid = "0c2e"\npid = "1"\n', "set exactly one of name"),
        ('kind = "evdev"\nvid = "0c2e"\n', "give both vid and pid"),
        ('kind = "evdev"\nvid = "usb"\npid = "1"\n', "stations[0].scanner.vid: String should"),
        ('kind = "evdev"\nby_id = "usb kbd"\n', "stations[0].scanner.by_id"),
        ('kind = "evdev"\nname = "x"\nlayout = "ch"\n', "stations[0].scanner.layout: Input"),
        ('kind = "evdev"\nname = "x"\ngs = "key:F99"\n', "'F99' is not an evdev key name"),
        ('kind = "evdev"\nname = "x"\npoll_interval_seconds = 0\n', "poll_interval_seconds"),
        ('kind = "evdev"\nname = "x"\nbaud = 9600\n', "scanner.baud: unknown field"),
        ('kind = "evdev"\npath = "-"\n', "scanner.path: unknown field"),
        ('kind = "simulated"\nname = "x"\n', "scanner.name: unknown field"),
        ('kind = "bluetooth"\n', "scanner.kind: unknown scanner kind 'bluetooth'"),
    ],
)
def test_invalid_scanner_settings_name_the_field(
    tmp_path: Path, scanner: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, scanner)
    assert message in str(caught.value)
    assert ".evdev." not in str(caught.value)  # the kind is the table's, not part of the path


@pytest.mark.parametrize(
    "scanner",
    [
        WedgeScannerConfig(kind="evdev", name="Honeywell Imaging & Mobility 1900"),
        WedgeScannerConfig(kind="evdev", by_id="/dev/input/by-id/usb-Zebra-event-kbd"),
        WedgeScannerConfig(
            kind="evdev", vid="05E0", pid="1200", layout="tr", gs="substitute:|", grab=False
        ),
        SimulatedScannerConfig(kind="simulated", path="/tmp/scans", follow=True),
    ],
)
def test_render_config_round_trips(scanner: WedgeScannerConfig | SimulatedScannerConfig) -> None:
    config = EdgeConfig(
        site="plant-1",
        edge_id="edge-07",
        secret="0123456789abcdef0123456789abcdef",
        stations=[StationConfig(name="pack-2", operator="op-1", scanner=scanner)],
    )
    text = render_config(config)
    assert "[stations.scanner]" in text
    assert EdgeConfig.model_validate(tomllib.loads(text)) == config


def test_a_bare_by_id_name_is_read_in_the_by_id_directory() -> None:
    config = WedgeScannerConfig(kind="evdev", by_id="usb-Zebra_Scanner-event-kbd")
    assert config.by_id == "/dev/input/by-id/usb-Zebra_Scanner-event-kbd"


@pytest.mark.parametrize("char", ["A", "7", "-", " "])
def test_a_gs_substitute_that_gs1_data_can_hold_is_refused(char: str) -> None:
    with pytest.raises(ValueError, match="can appear inside GS1 data"):
        WedgeScannerConfig(kind="evdev", name="scanner", gs=f"substitute:{char}")

"""`ioe edge scan-test`: what a station's scanner sends, decoded, with nothing queued.

For setting scanners up: the raw bytes (terminator, prefix, AIM identifier, how the group
separator arrives), the rule that matched and the fields it decoded, or why it was refused.
It opens the scanner exactly as `ioe edge run` does, but never opens the queue.
"""

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from edge.barcodes.decode import BarcodeDecoder
from edge.config import EdgeConfig, StationConfig
from edge.errors import ConfigError
from edge.scanners.base import DriverState, RawScan
from edge.scanners.drivers import driver_for
from edge.scanners.hub import ScannerHub

Printer = Callable[[dict[str, Any]], None]


def scan_report(decoder: BarcodeDecoder, raw: RawScan, locale: str | None) -> dict[str, Any]:
    """One scan as scan-test shows it: bytes, text, every rule's verdict, the scan or refusal."""
    explained = decoder.explain(raw.data, expected=(), locale=locale)
    return {
        "event": "scan",
        "raw_hex": raw.raw.hex(" "),
        "result": "decoded" if explained["scan"] is not None else "refused",
        **explained,
    }


def station_with_scanner(config: EdgeConfig, name: str) -> StationConfig:
    """The station to test, or ConfigError saying which stations have a scanner."""
    station = config.station(name)
    with_scanner = [s.name for s in config.stations if s.scanner is not None]
    if station is None or station.scanner is None:
        what = "no station" if station is None else "no scanner at station"
        raise ConfigError(
            f"{what} {name!r} in this edge.toml; stations with a scanner: "
            f"{', '.join(with_scanner) or '(none)'}"
        )
    return station


async def scan_test(
    config: EdgeConfig, station_name: str, show: Printer, *, count: int | None = None
) -> int:
    """Read the station's scanner and ``show`` every scan and state change; nothing queued.

    Runs until cancelled, or until ``count`` scans were shown; returns how many were.
    """
    station = station_with_scanner(config, station_name)
    assert station.scanner is not None
    decoder = config.barcode_decoder()
    hub = ScannerHub()
    seen = 0
    done = _Done()

    async def handle(_: str, raw: RawScan) -> None:
        nonlocal seen
        show(scan_report(decoder, raw, station.locale))
        seen += 1
        if count is not None and seen >= count:
            raise done

    def state_changed() -> None:
        state: DriverState | None = hub.state(station.name)
        if state is not None:
            show({"event": "scanner", **asdict(state)})

    hub.add_listener(state_changed)
    try:
        await hub.run(station.name, driver_for(station.scanner), handle)
    except _Done:
        pass
    return seen


class _Done(Exception):
    """Enough scans were shown."""


def render_human(item: dict[str, Any]) -> str:
    """A scan-test block for a person setting a scanner up."""
    if item["event"] == "scanner":
        where = f" {item['device']}" if item.get("device") else ""
        why = f": {item['reason']}" if item.get("reason") else ""
        return f"scanner {item['kind']} {item['status']}{where}{why}"
    lines = [f"raw      {item['raw_hex']}", f"text     {item['text'] or item['raw']!r}"]
    if item.get("symbology"):
        lines.append(f"aim      {item['symbology']} ({item['symbology_meaning'] or 'unknown'})")
    if item.get("gs1_form"):
        lines.append(f"gs1      {item['gs1_form']}")
    scan = item["scan"]
    if scan is not None:
        lines.append(f"decoded  {scan['kind']} {scan['value']!r} (rule {scan['rule']})")
        for name, value in scan["fields"].items():
            lines.append(f"  {name:<14}{value}")
    else:
        lines.append(f"refused  {item['error']['code']}: {item['error']['message']}")
        for step in item["rules"]:
            lines.append(f"  rule {step['rule']:<16}{step['outcome']}: {step['why']}")
    return "\n".join(lines) + "\n"


def render_json(item: dict[str, Any]) -> str:
    """A scan-test line for tools: one JSON object per line."""
    return json.dumps(item, ensure_ascii=False)

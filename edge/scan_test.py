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
from edge.errors import ConfigError, ScanError
from edge.scanners.base import DriverState, RawScan
from edge.scanners.drivers import driver_for
from edge.scanners.hub import ScannerHub

Printer = Callable[[dict[str, Any]], None]


def scan_report(decoder: BarcodeDecoder, raw: RawScan, locale: str | None) -> dict[str, Any]:
    """One scan as scan-test shows it: bytes, text, and the decoded scan or the refusal."""
    report: dict[str, Any] = {
        "event": "scan",
        "raw_hex": raw.raw.hex(" "),
        "raw": raw.raw.decode("latin-1"),
        "text": raw.data.replace("\x1d", "<GS>"),
    }
    try:
        scan = decoder(raw.data, expected=(), locale=locale)
    except ScanError as err:
        report.update(result="refused", code=err.code, message=str(err))
    else:
        report.update(
            result="decoded",
            kind=scan.kind,
            value=scan.value,
            rule=scan.rule,
            symbology=scan.symbology,
            fields=dict(scan.fields),
        )
    return report


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
    decoder = BarcodeDecoder()
    hub = ScannerHub()
    seen = 0
    done = _Done()

    async def handle(_: str, raw: RawScan) -> None:
        nonlocal seen
        show(scan_report(decoder, raw, None))
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
    """A scan-test line for a person setting a scanner up."""
    if item["event"] == "scanner":
        where = f" {item['device']}" if item.get("device") else ""
        why = f": {item['reason']}" if item.get("reason") else ""
        return f"scanner {item['kind']} {item['status']}{where}{why}"
    lines = [f"raw      {item['raw_hex']}", f"text     {item['text']!r}"]
    if item["result"] == "decoded":
        lines.append(f"decoded  {item['kind']} {item['value']!r} (rule {item['rule']})")
        if item.get("symbology"):
            lines.append(f"aim      {item['symbology']}")
        for name, value in item["fields"].items():
            lines.append(f"  {name:<14}{value}")
    else:
        lines.append(f"refused  {item['code']}: {item['message']}")
    return "\n".join(lines) + "\n"


def render_json(item: dict[str, Any]) -> str:
    """A scan-test line for tools: one JSON object per line."""
    return json.dumps(item, ensure_ascii=False)

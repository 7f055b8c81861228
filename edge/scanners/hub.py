"""Scanner drivers at work: each station's driver fed into the stations, its state kept.

The hub is the one place that knows every driver's state: the local API lists it (per
station and at /api/v1/scanners), the edge's state topic carries it to central, and each
change is a ``scanner`` event. A scan a station refuses never stops its scanner.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from edge.errors import EdgeError
from edge.events import EventSink
from edge.scanners.base import DriverState, RawScan, ScanSink, StateSink
from protocol import format_ts

log = logging.getLogger(__name__)

# What handles a station's scan: StationRunner.handle_scan, or scan-test's printer.
ScanHandler = Callable[[str, RawScan], Awaitable[None]]


class ScannerDriver(Protocol):
    """What every driver (simulated, serial, evdev) offers the hub."""

    async def run(self, on_scan: ScanSink, on_state: StateSink) -> None:
        """Read scans until cancelled; report every status change; never raise for a device."""
        ...


class ScannerHub:
    """Runs each station's driver, hands its scans on, and keeps every driver's state."""

    def __init__(self, events: EventSink | None = None) -> None:
        self.events = events
        self._states: dict[str, DriverState] = {}
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every state change (the sync loop republishes its state)."""
        self._listeners.append(listener)

    def state(self, station: str) -> DriverState | None:
        """The state of a station's driver, or None when the station has no scanner."""
        return self._states.get(station)

    def state_of(self, station: str, kind: str | None) -> DriverState | None:
        """A station's driver state, given its configured scanner ``kind`` (None: it has no
        scanner, so no state); idle until its driver runs."""
        if kind is None:
            return None
        return self._states.get(station) or DriverState(kind, "idle")

    def states(self) -> dict[str, DriverState]:
        """Every driver's state, by station."""
        return dict(self._states)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Every driver's state as JSON-ready dicts, by station (for the state topic)."""
        return {station: asdict(state) for station, state in self._states.items()}

    def report(self, station: str, state: DriverState) -> None:
        """Record a driver's new state; publish it when it changed."""
        if not state.since:
            state = replace(state, since=format_ts(datetime.now(UTC)))
        previous = self._states.get(station)
        self._states[station] = state
        if previous is not None and _same(previous, state):
            return
        level = logging.INFO if state.status in ("connected", "stopped") else logging.WARNING
        log.log(
            level,
            "%s: %s scanner %s%s%s",
            station,
            state.kind,
            state.status,
            f" ({state.device})" if state.device else "",
            f": {state.reason}" if state.reason else "",
        )
        if self.events is not None:
            self.events.publish("scanner", {"station": station, **asdict(state)})
        for listener in self._listeners:
            listener()

    async def run(self, station: str, driver: ScannerDriver, handle: ScanHandler) -> None:
        """Feed one station's scans to ``handle`` until cancelled, in the order read."""

        async def on_scan(raw: RawScan) -> None:
            try:
                await handle(station, raw)
            except EdgeError as err:  # refused (and reported by the station): read on
                log.warning("%s: scan %r refused: %s", station, raw.data[:60], err)

        def on_state(state: DriverState) -> None:
            self.report(station, state)

        try:
            await driver.run(on_scan, on_state)
        finally:
            current = self._states.get(station)
            if current is not None and current.status not in ("error", "stopped"):
                self.report(station, replace(current, status="stopped", reason=None, since=""))


def _same(a: DriverState, b: DriverState) -> bool:
    return (a.kind, a.status, a.device, a.reason) == (b.kind, b.status, b.device, b.reason)

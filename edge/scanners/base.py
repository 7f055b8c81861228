"""What every scanner driver gives the edge: whole scans, and its own state."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

# connected: the device is open and read.  waiting: not there (unplugged, not yet found);
# the driver looks again by itself.  error: there but unusable (permission, wrong settings),
# with the reason; the driver retries too.  stopped: the edge is shutting down, or a
# simulated scanner's input ended.  idle: configured, its driver not started (yet).
DriverStatus = Literal["connected", "waiting", "error", "stopped", "idle"]


@dataclass(frozen=True)
class RawScan:
    """One complete scan as a driver framed it: the bytes read and the text they make.

    ``raw`` is what came off the wire for this scan (terminator and prefix/suffix included),
    for `ioe edge scan-test`; ``data`` is the text handed to the decoder (framing removed;
    a GS1 group separator appears as "\\x1d", whatever the scanner sent for it).
    """

    data: str
    raw: bytes


@dataclass(frozen=True)
class DriverState:
    """Where a scanner driver is: status, the device it uses or looks for, and why."""

    kind: str
    status: DriverStatus
    device: str | None = None
    reason: str | None = None
    since: str = ""  # edge time (ISO) of the last status change


# A driver hands each scan to this and awaits it before reading on, so scans of one scanner
# are handled one after another, in the order they were read.
ScanSink = Callable[[RawScan], Awaitable[None]]
# A driver reports every status change here (called from the event loop).
StateSink = Callable[[DriverState], None]

"""The driver for a station's `[stations.scanner]` table, by its kind."""

from edge.config import ScannerConfig
from edge.scanners.hub import ScannerDriver
from edge.scanners.serial import SerialScanner, SerialScannerConfig
from edge.scanners.simulated import SimulatedScanner


def driver_for(scanner: ScannerConfig) -> ScannerDriver:
    """A ready-to-run driver for one configured scanner."""
    if isinstance(scanner, SerialScannerConfig):
        return SerialScanner(scanner)
    return SimulatedScanner(scanner.path, follow=scanner.follow)

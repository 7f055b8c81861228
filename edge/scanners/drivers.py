"""The driver for a station's `[stations.scanner]` table, by its kind."""

from edge.scanners.hub import ScannerDriver
from edge.scanners.serial import SerialScanner, SerialScannerConfig
from edge.scanners.simulated import SimulatedScanner, SimulatedScannerConfig
from edge.scanners.wedge import WedgeScanner, WedgeScannerConfig

ScannerSettings = SimulatedScannerConfig | SerialScannerConfig | WedgeScannerConfig


def driver_for(scanner: ScannerSettings) -> ScannerDriver:
    """A ready-to-run driver for one configured scanner."""
    if isinstance(scanner, SerialScannerConfig):
        return SerialScanner(scanner)
    if isinstance(scanner, WedgeScannerConfig):
        return WedgeScanner(scanner)
    return SimulatedScanner(scanner.path, follow=scanner.follow)

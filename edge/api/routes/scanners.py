"""/scanners: each station's scanner driver, connected or waiting for its device, and why."""

from dataclasses import asdict

from fastapi import APIRouter

from edge.api.deps import ConfigDep, ScannersDep
from edge.api.schemas import ScannerOut

router = APIRouter(prefix="/scanners", tags=["scanners"])


@router.get("", response_model=list[ScannerOut])
async def list_scanners(config: ConfigDep, scanners: ScannersDep) -> list[ScannerOut]:
    """Every configured scanner: its station, driver kind, status, device and reason."""
    out = []
    for station in config.stations:
        kind = station.scanner.kind if station.scanner is not None else None
        state = scanners.state_of(station.name, kind)
        if state is not None:
            out.append(ScannerOut(station=station.name, **asdict(state)))
    return out

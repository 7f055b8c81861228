"""/stations: each station's context, and scans handled as if its scanner had read them."""

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from edge.api.deps import ConfigDep, ProgressDep, ScannersDep, StationsDep
from edge.api.errors import error_responses
from edge.api.schemas import ProgressOut, ScanIn, ScanOut, StationOut
from edge.config import EdgeConfig
from edge.scanners.hub import ScannerHub
from edge.stations import StationRunner

router = APIRouter(prefix="/stations", tags=["stations"])


@router.post(
    "/{station}/scans", response_model=ScanOut, responses=error_responses(404, 422, 503, 507)
)
async def post_scan(station: str, scan: ScanIn, stations: StationsDep) -> ScanOut:
    """A scan, handled exactly as if the station's scanner had read it."""
    outcome = await stations.handle_scan(station, scan.data)
    return ScanOut.model_validate(outcome.to_dict())


def _station_out(
    name: str, stations: StationRunner, config: EdgeConfig, scanners: ScannerHub
) -> StationOut:
    """A station's state, its flows, and its scanner driver's state."""
    out: dict[str, Any] = asdict(stations.state(name, with_flows=True))
    station = config.station(name)
    kind = station.scanner.kind if station is not None and station.scanner is not None else None
    scanner = scanners.state_of(name, kind)
    out["scanner"] = asdict(scanner) if scanner is not None else None
    return StationOut.model_validate(out)


@router.get("", response_model=list[StationOut])
async def list_stations(
    stations: StationsDep, config: ConfigDep, scanners: ScannersDep
) -> list[StationOut]:
    """Every station: operator, flow, step, what it expects next, what it has, its flows,
    and its scanner's state."""
    return [_station_out(name, stations, config, scanners) for name in stations.names]


@router.get("/{station}", response_model=StationOut, responses=error_responses(404, 422))
async def get_station(
    station: str, stations: StationsDep, config: ConfigDep, scanners: ScannersDep
) -> StationOut:
    """One station: operator, flow, step, what it expects next, what it has, its flows, and
    its scanner's state."""
    return _station_out(station, stations, config, scanners)


@router.get(
    "/{station}/progress", response_model=ProgressOut, responses=error_responses(404, 422, 503)
)
async def get_progress(station: str, progress: ProgressDep) -> ProgressOut:
    """The running totals the station's current job needs (central's figures from the
    reference cache, this edge's unacked actions on top) and its last actions."""
    return ProgressOut.model_validate(await progress.of(station))

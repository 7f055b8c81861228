"""/stations: each station's context, and scans handled as if its scanner had read them."""

from dataclasses import asdict

from fastapi import APIRouter

from edge.api.deps import StationsDep
from edge.api.errors import error_responses
from edge.api.schemas import ScanIn, ScanOut, StationOut

router = APIRouter(prefix="/stations", tags=["stations"])


@router.post(
    "/{station}/scans", response_model=ScanOut, responses=error_responses(404, 422, 503, 507)
)
async def post_scan(station: str, scan: ScanIn, stations: StationsDep) -> ScanOut:
    """A scan, handled exactly as if the station's scanner had read it."""
    outcome = await stations.handle_scan(station, scan.data)
    return ScanOut.model_validate(outcome.to_dict())


@router.get("", response_model=list[StationOut])
async def list_stations(stations: StationsDep) -> list[StationOut]:
    """Every station: operator, flow, step, what it expects next, what it has, its flows."""
    return [
        StationOut.model_validate(asdict(stations.state(name, with_flows=True)))
        for name in stations.names
    ]


@router.get("/{station}", response_model=StationOut, responses=error_responses(404, 422))
async def get_station(station: str, stations: StationsDep) -> StationOut:
    """One station: operator, flow, step, what it expects next, what it has, its flows."""
    return StationOut.model_validate(asdict(stations.state(station, with_flows=True)))

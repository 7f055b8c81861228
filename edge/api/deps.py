"""What the routes work with, as Annotated aliases read from the one EdgeParts of the app."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from edge.config import EdgeConfig
from edge.conflicts import ConflictDesk
from edge.errors import RefCacheUnavailable
from edge.events import EventBus
from edge.lookups import RefLookups
from edge.progress import StationProgress
from edge.queue import ActionQueue
from edge.scanners.hub import ScannerHub
from edge.stations import StationRunner

LinkStatus = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class EdgeParts:
    """The running edge's parts the API serves; create_edge_api stores it on the app once."""

    config: EdgeConfig
    queue: ActionQueue
    stations: StationRunner
    events: EventBus
    status: LinkStatus
    scanners: ScannerHub
    progress: StationProgress
    conflicts: ConflictDesk
    lookups: RefLookups | None = None


def get_parts(request: Request) -> EdgeParts:
    """The parts the app was created with (the only place that reads app.state)."""
    parts: EdgeParts = request.app.state.edge
    return parts


PartsDep = Annotated[EdgeParts, Depends(get_parts)]


def get_config(parts: PartsDep) -> EdgeConfig:
    """The edge's configuration."""
    return parts.config


def get_queue(parts: PartsDep) -> ActionQueue:
    """The durable action queue."""
    return parts.queue


def get_stations(parts: PartsDep) -> StationRunner:
    """The stations and their contexts."""
    return parts.stations


def get_scanners(parts: PartsDep) -> ScannerHub:
    """The scanner drivers' states."""
    return parts.scanners


def get_events(parts: PartsDep) -> EventBus:
    """The event bus the SSE stream reads."""
    return parts.events


def get_link_status(parts: PartsDep) -> LinkStatus:
    """The sync loop's connectivity figures, read when called."""
    return parts.status


def get_lookups(parts: PartsDep) -> RefLookups:
    """The reference cache's lookups; 503 on an edge run without one."""
    if parts.lookups is None:
        raise RefCacheUnavailable("this edge runs without a reference cache")
    return parts.lookups


def get_progress(parts: PartsDep) -> StationProgress:
    """The stations' running totals."""
    return parts.progress


def get_conflicts(parts: PartsDep) -> ConflictDesk:
    """The conflicts list and the forwarding to central."""
    return parts.conflicts


ConfigDep = Annotated[EdgeConfig, Depends(get_config)]
QueueDep = Annotated[ActionQueue, Depends(get_queue)]
StationsDep = Annotated[StationRunner, Depends(get_stations)]
ScannersDep = Annotated[ScannerHub, Depends(get_scanners)]
EventsDep = Annotated[EventBus, Depends(get_events)]
LinkStatusDep = Annotated[LinkStatus, Depends(get_link_status)]
LookupsDep = Annotated[RefLookups, Depends(get_lookups)]
ProgressDep = Annotated[StationProgress, Depends(get_progress)]
ConflictsDep = Annotated[ConflictDesk, Depends(get_conflicts)]

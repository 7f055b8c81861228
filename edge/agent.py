"""`ioe edge run`: one edge's queue, stations, scanners, local API and sync loop, together."""

import asyncio
import logging

from edge.api import create_edge_api
from edge.config import EdgeConfig
from edge.errors import EdgeError
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.scanners.simulated import SimulatedScanner
from edge.stations import StationRunner
from edge.sync import SyncLoop
from runtime import __version__
from runtime.serving import ListenSettings, make_server, serve_app

log = logging.getLogger(__name__)

# The edge's address comes from its edge.toml (IOE_HOST / IOE_PORT override it); `ioe edge
# run` takes no --host or --port.
EDGE_TOML = ListenSettings(
    host="`host` in edge.toml or IOE_HOST", port="`port` in edge.toml or IOE_PORT"
)


async def _feed(station: str, scanner: SimulatedScanner, stations: StationRunner) -> None:
    """Hand every scan of one scanner to its station; a bad scan never stops the scanner."""
    async for raw in scanner.scans():
        try:
            outcome = await stations.handle_scan(station, raw)
            log.info("%s: %s: %s", station, outcome.result, outcome.message)
        except EdgeError as err:
            log.warning("%s: scan %r refused: %s", station, raw[:60], err)


async def run_edge(config: EdgeConfig) -> None:
    """Run the edge until cancelled; the queue is opened first and closed last."""
    central_key = config.central_public_key()  # refuse to start without it, before anything
    events = EventBus()
    queue = await ActionQueue.open(
        config.queue_path,
        site=config.site,
        edge=config.edge_id,
        secret=config.secret,
        events=events,
        reserve_bytes=config.queue_reserve_bytes,
    )
    try:
        stations = StationRunner(config, queue, events)
        sync = SyncLoop(
            queue,
            site=config.site,
            edge=config.edge_id,
            mqtt_url=config.broker_address(),
            secret=config.secret,
            central_key=central_key,
            events=events,
            batch_size=config.batch_size,
            ack_timeout=config.ack_timeout_seconds,
            backlog_warn_seconds=config.backlog_warn_seconds,
            version=__version__,
        )
        app = create_edge_api(
            config=config, queue=queue, stations=stations, events=events, status=sync.status
        )
        server = make_server(app, config.host, config.port, set_by=EDGE_TOML)
        log.info(
            "edge %s/%s: local API on http://%s:%s, broker %s",
            config.site,
            config.edge_id,
            config.host,
            config.port,
            config.broker_address().display(),
        )
        async with asyncio.TaskGroup() as group:
            group.create_task(serve_app(server), name="edge-api")
            group.create_task(sync.run(), name="edge-sync")
            group.create_task(stations.sweep_idle(), name="station-idle")
            for station in config.stations:
                if station.scanner is not None and station.scanner.kind == "simulated":
                    scanner = SimulatedScanner(station.scanner.path, follow=station.scanner.follow)
                    group.create_task(
                        _feed(station.name, scanner, stations), name=f"scanner-{station.name}"
                    )
    finally:
        await queue.close()

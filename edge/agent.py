"""`ioe edge run`: one edge's queue, stations, scanners, local API and sync loop, together."""

import asyncio
import logging
from datetime import timedelta

from edge.api import create_edge_api
from edge.config import EdgeConfig
from edge.events import EventBus
from edge.lookups import RefLookups
from edge.queue import ActionQueue
from edge.ref_follow import RefFollower
from edge.ref_store import RefStore, RefStoreError
from edge.scanners.base import RawScan
from edge.scanners.drivers import driver_for
from edge.scanners.hub import ScanHandler, ScannerHub
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


def _scan_handler(stations: StationRunner) -> ScanHandler:
    """Each whole scan a driver read, handled at its station exactly as a posted scan is."""

    async def handle(station: str, raw: RawScan) -> None:
        outcome = await stations.handle_scan(station, raw.data)
        log.info("%s: %s: %s", station, outcome.result, outcome.message)

    return handle


def ref_follower(config: EdgeConfig, store: RefStore, central_key: bytes) -> RefFollower:
    """The follower of central's reference data, with the edge's keep times and cap."""
    done = timedelta(hours=config.ref_done_keep_hours)
    return RefFollower(
        store,
        site=config.site,
        edge=config.edge_id,
        secret=config.secret,
        central_key=central_key,
        snapshot_timeout=config.ref_snapshot_timeout_seconds,
        catchup_seconds=config.ref_catchup_seconds,
        keep={
            "lp": timedelta(hours=config.ref_lp_keep_hours),
            "task": done,
            "hold": done,
            "shipment": done,
        },
        max_items=config.ref_max_items,
    )


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
    ref_store = follower = None
    try:
        try:
            ref_store = await RefStore.open(config.ref_path)
            follower = ref_follower(config, ref_store, central_key)
            await follower.load()
        except RefStoreError as err:
            # Lookups are a help, the queue is the job: the edge runs on without them.
            log.error("%s; the edge runs without its reference cache (lookups answer 503)", err)
            if ref_store is not None:
                await ref_store.close()
            ref_store = follower = None
        stations = StationRunner(config, queue, events)
        scanners = ScannerHub(events)
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
            scanners=scanners.summary,
            ref=follower,
        )
        scanners.add_listener(sync.state_changed)
        app = create_edge_api(
            config=config,
            queue=queue,
            stations=stations,
            events=events,
            status=sync.status,
            scanners=scanners,
            lookups=(
                RefLookups(ref_store, follower, queue, sync.status)
                if ref_store is not None and follower is not None
                else None
            ),
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
            handle = _scan_handler(stations)
            for station in config.stations:
                if station.scanner is not None:
                    group.create_task(
                        scanners.run(station.name, driver_for(station.scanner), handle),
                        name=f"scanner-{station.name}",
                    )
    finally:
        if ref_store is not None:
            await ref_store.close()
        await queue.close()

"""`ioe central run`: migrations, then the REST API and the MQTT ingest worker in one process."""

import asyncio
import logging

from central.access.exposure import check_exposure
from central.actions.processor import ActionProcessor
from central.api.app import create_app
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.reach import check_reachable
from central.event_relay import build_relay
from central.identity import state_signing_seed
from central.ingest import IngestWorker
from central.ref.link import BrokerLink
from central.ref.snapshots import SnapshotAnswerer
from central.settings import CentralSettings
from central.webhooks.worker import WebhookWorker
from runtime import __version__
from runtime.serving import bind_listeners, make_server, serve_app

log = logging.getLogger(__name__)


async def run_central(settings: CentralSettings, *, shared_subscription: bool = False) -> None:
    """Serve central until cancelled: check its exposure (a short admin token is refused),
    its database (reachable, or one clear error), apply migrations, start API and ingest
    together."""
    check_exposure(settings)
    listeners = bind_listeners(settings.host, settings.port)  # a taken port ends it here
    master_key = settings.load_master_key()
    await check_reachable(settings.db_url)
    await upgrade(settings.db_url, master_key=master_key)
    engine = make_engine(settings.db_url, outbox=settings.outbox)
    processor = ActionProcessor(engine, settings)
    broker = settings.broker_address()
    link = BrokerLink()  # central's one MQTT connection, for what publishes besides ingest
    snapshots = SnapshotAnswerer(
        engine, settings, box=processor.edge_box, seed=state_signing_seed(settings), link=link
    )
    worker = IngestWorker(
        processor,
        mqtt_url=broker,
        shared_subscription=shared_subscription,
        version=__version__,
        link=link,
        snapshots=snapshots,
    )
    app = create_app(settings, engine=engine, processor=processor, readiness=worker.status)
    server = make_server(app, settings.host, settings.port, sockets=listeners)
    log.info(
        "central API on http://%s:%s (docs at /docs), MQTT %s",
        settings.host,
        settings.port,
        broker.display(),
    )
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(serve_app(server), name="central-api")
            group.create_task(worker.run(), name="central-ingest")
            group.create_task(snapshots.run(), name="ref-snapshots")
            if settings.relay and settings.outbox:
                relay = build_relay(engine, settings, link=link)
                group.create_task(relay.run(), name="event-relay")
            if settings.outbox and settings.webhook_delivery:
                group.create_task(WebhookWorker(engine, settings).run(), name="webhook-delivery")
    finally:
        await engine.dispose()

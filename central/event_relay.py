"""Wiring central's event relay: which consumers the outbox feeds in a running central."""

from sqlalchemy.ext.asyncio import AsyncEngine

from central.events.relay import EventRelay
from central.identity import state_signing_seed
from central.ref.link import BrokerLink
from central.ref.publisher import RefPublisher
from central.settings import CentralSettings
from central.webhooks.fanout import WebhookFanout


def build_relay(
    engine: AsyncEngine, settings: CentralSettings, *, link: BrokerLink | None = None
) -> EventRelay:
    """The relay of a central process, with every consumer it feeds."""
    relay = EventRelay(engine, settings)
    relay.add(WebhookFanout())  # each event -> one delivery per matching webhook
    if link is not None:  # reference data to the edges, through central's MQTT connection
        seed = state_signing_seed(settings)
        wait = settings.ref_publish_wait_seconds
        relay.add(RefPublisher(link, seed, wait_seconds=wait))
        link.on_up(relay.pulse.notify)  # deltas held back while the broker was away go now
    return relay
